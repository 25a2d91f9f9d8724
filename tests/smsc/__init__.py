"""A small SMPP 3.4 SMSC on loopback for the tests and the benchmark (tests/smsc/server.py)."""
