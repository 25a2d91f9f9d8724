"""The FastAGI server the dialplan asks where a phone's call goes (protocol.py the wire,
server.py the routes, main.py the process that `voxcast agi` / `voxcast run` starts)."""
