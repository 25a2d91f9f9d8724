"""The FastAGI wire protocol on asyncio streams: the environment Asterisk sends first, then one
command and one reply at a time. Small and strict on purpose (see docs/decisions.md: the
asyncio FastAGI libraries we looked at spin on a dropped connection or swallow cancellation):
every read has a deadline and a size limit, end of file is a hang-up, and arguments are quoted
so no value can add a command of its own."""
from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

ENV_TIMEOUT_S = 5.0  # Asterisk sends the whole environment at once
ENV_MAX_LINES = 200
LINE_MAX = 8192
REPLY_TIMEOUT_S = 10.0  # for commands that do not wait for the caller

_REPLY = re.compile(r"^(\d{3})(?:[ -](.*))?$")
_RESULT = re.compile(r"^result=(\S*)(?:\s+\((.*)\))?(?:\s+endpos=(\d+))?\s*$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AgiError(Exception):
    """The conversation cannot go on (bad input from Asterisk, a timeout)."""


class AgiHangup(AgiError):
    """The channel hung up (HANGUP, 511) or the connection dropped."""


@dataclass(frozen=True)
class Reply:
    code: int
    result: str = ""  # the digits of result=..., "" when there are none
    data: str = ""  # the text in parentheses: "(timeout)" -> "timeout"
    text: str = ""  # the whole line after the code

    @property
    def value(self) -> int:
        return int(self.result) if self.result.lstrip("-").isdigit() else 0


def parse_reply(line: str) -> Reply:
    """One reply line: `200 result=1 (timeout)`, `510 Invalid or unknown command`..."""
    match = _REPLY.match(line)
    if not match:
        raise AgiError(f"not an AGI reply: {line[:80]!r}")
    code, rest = int(match.group(1)), match.group(2) or ""
    if code != 200:
        return Reply(code, text=rest)
    result = _RESULT.match(rest)
    if not result:
        raise AgiError(f"not an AGI result: {line[:80]!r}")
    return Reply(code, result.group(1), result.group(2) or "", rest)


def parse_env(lines: list[str]) -> dict[str, str]:
    """`agi_name: value` lines into a dict; anything else is refused."""
    env: dict[str, str] = {}
    for line in lines:
        name, sep, value = line.partition(": ")
        if not sep and line.endswith(":"):  # an empty value: "agi_arg_1:"
            name, sep, value = line[:-1], ":", ""
        if not sep or not name.startswith("agi_") or not name.isascii():
            raise AgiError(f"not an AGI variable: {line[:80]!r}")
        env[name] = value
    return env


def quote(value: object) -> str:
    """One command argument: in double quotes, `\\` and `"` escaped, control characters
    (a newline would end the command) dropped."""
    text = _CONTROL.sub("", str(value))
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """One FastAGI connection: `env` once read, then `command()` round trips."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.env: dict[str, str] = {}
        self.hung_up = False

    @property
    def script(self) -> str:
        """The path of agi://host:port/<script>, without arguments."""
        return self.env.get("agi_network_script", "").split("?", 1)[0].strip("/")

    def arg(self, n: int) -> str:
        return self.env.get(f"agi_arg_{n}", "")

    async def _line(self, timeout: float) -> str:
        try:
            raw = await asyncio.wait_for(self.reader.readline(), timeout)
        except asyncio.TimeoutError:
            raise AgiError(f"no answer from Asterisk within {timeout:.0f}s") from None
        except (ConnectionError, asyncio.LimitOverrunError, ValueError) as exc:
            raise AgiHangup(f"connection lost: {exc}") from None
        if not raw:
            self.hung_up = True
            raise AgiHangup("connection closed")
        if not raw.endswith(b"\n"):
            raise AgiHangup("connection closed in the middle of a line")
        return raw.decode("utf-8", errors="replace").rstrip("\r\n")

    async def read_env(self, timeout: float | None = None) -> dict[str, str]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + (timeout or ENV_TIMEOUT_S)
        lines: list[str] = []
        while True:
            line = await self._line(max(0.01, deadline - loop.time()))
            if line == "":
                break
            lines.append(line)
            if len(lines) > ENV_MAX_LINES:
                raise AgiError("AGI environment too long")
        self.env = parse_env(lines)
        return self.env

    async def command(self, name: str, *args: object, timeout: float = REPLY_TIMEOUT_S) -> Reply:
        """Send `NAME "arg" ...` and read its reply. A HANGUP line (sent when the channel hangs
        up) or 511 (dead channel) raise AgiHangup; 510/520 (our mistake) raise AgiError."""
        if self.hung_up:
            raise AgiHangup("channel hung up")
        line = " ".join([name, *(quote(a) for a in args)]) + "\n"
        try:
            self.writer.write(line.encode())
            await asyncio.wait_for(self.writer.drain(), timeout)
        except (ConnectionError, asyncio.TimeoutError) as exc:
            self.hung_up = True
            raise AgiHangup(f"cannot send {name}: {exc!r}") from None
        while True:
            text = await self._line(timeout)
            if text == "HANGUP":  # the channel went away; a reply may still follow
                self.hung_up = True
                continue
            if text.startswith("520-"):  # usage text follows up to "520 End of ..."
                while not (await self._line(timeout)).startswith("520 "):
                    pass
                raise AgiError(f"{name}: wrong usage")
            reply = parse_reply(text)
            if reply.code == 100:  # "Trying...": the real reply follows
                continue
            if reply.code == 511:
                self.hung_up = True
                raise AgiHangup(f"{name}: channel is dead")
            if reply.code != 200:
                raise AgiError(f"{name}: {reply.code} {reply.text}")
            if reply.result == "-1" and name in WAITING_COMMANDS:
                self.hung_up = True
                raise AgiHangup(f"{name}: channel hung up")
            return reply

    # -- the few commands we use ---------------------------------------------------------------
    async def set_variable(self, name: str, value: object) -> None:
        await self.command("SET VARIABLE", name, value)

    async def answer(self) -> None:
        await self.command("ANSWER")

    async def stream_file(self, sound: str, timeout: float = 30.0) -> None:
        """Play a prompt to its end (no key interrupts it)."""
        await self.command("STREAM FILE", sound, "", timeout=timeout)

    async def get_data(self, sound: str, wait_ms: int, max_digits: int) -> str:
        """Play `sound` and collect up to `max_digits` keys (# ends early); "" on timeout."""
        reply = await self.command("GET DATA", sound, wait_ms, max_digits,
                                   timeout=REPLY_TIMEOUT_S + wait_ms / 1000 * (max_digits + 1))
        return reply.result if reply.result.isdigit() else ""

    async def verbose(self, message: str) -> None:
        await self.command("VERBOSE", message, 1)

    def close(self) -> None:
        try:
            self.writer.close()
        except (ConnectionError, RuntimeError):
            pass


# Commands whose result=-1 means the channel is gone (GET DATA skips a missing prompt and
# says -1 only on a hang-up). STREAM FILE says -1 for a missing sound too: its caller goes on,
# and the next command meets the hang-up, if any.
WAITING_COMMANDS = frozenset({"ANSWER", "GET DATA", "WAIT FOR DIGIT"})
