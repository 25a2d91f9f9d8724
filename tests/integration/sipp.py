"""sipp peers for the integration tests, and what they saw, read from sipp's message log."""
from __future__ import annotations

import datetime as dt
from collections import Counter
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCENARIOS = Path(__file__).parent / "sipp"
_HEADER = re.compile(r"^-{20,} (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)")


@dataclass(frozen=True)
class SipMessage:
    at: dt.datetime
    sent: bool  # sent by sipp (as opposed to received from Asterisk)
    first_line: str
    call_id: str

    @property
    def method(self) -> str:
        """INVITE / ACK / BYE ... for requests, '200' / '486' ... for responses."""
        parts = self.first_line.split()
        return parts[1] if parts and parts[0].startswith("SIP/") else (parts[0] if parts else "")


class Sipp:
    """One sipp process. `uas(...)` stands in for called parties, `uac(...)` for PSTN callers."""

    def __init__(self, scenario: str, workdir: Path, args: list[str], name: str,
                 local_ip: str = "127.0.0.1"):
        self.scenario = SCENARIOS / scenario
        self.local_ip = local_ip  # any 127.0.0.x: a peer at another address than the trunk
        self.workdir = workdir
        self.log = workdir / f"{name}-messages.log"
        self.errors = workdir / f"{name}-errors.log"
        self.stdout = workdir / f"{name}-stdout.log"
        self.args = args
        self.proc: subprocess.Popen | None = None

    @classmethod
    def uas(cls, scenario: str, workdir: Path, port: int, calls: int, timeout: int = 120):
        return cls(scenario, workdir, ["-p", str(port), "-m", str(calls), "-timeout", f"{timeout}s"],
                   name=f"uas-{scenario[:-4]}")

    @classmethod
    def uac(cls, scenario: str, workdir: Path, target: str, number: str, port: int,
            calls: int = 1, rate: float = 1.0, timeout: int = 60, local_ip: str = "127.0.0.1",
            extra: tuple[str, ...] = ()):
        return cls(scenario, workdir, [target, "-s", number, "-p", str(port), "-m", str(calls),
                                       "-r", str(rate), "-timeout", f"{timeout}s", *extra],
                   name=f"uac-{scenario[:-4]}-{number}-{local_ip}", local_ip=local_ip)

    def start(self) -> "Sipp":
        cmd = ["sipp", "-sf", str(self.scenario), "-i", self.local_ip, "-nostdin",
               "-trace_msg", "-message_file", str(self.log), "-trace_err",
               "-error_file", str(self.errors), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=open(self.stdout, "wb"), stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, cwd=self.workdir)
        return self

    def wait(self, timeout: float = 120) -> int:
        """sipp's exit code: 0 when every call followed the scenario."""
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def messages(self) -> list[SipMessage]:
        if not self.log.exists():
            return []
        out: list[SipMessage] = []
        at = None
        sent = False
        body: list[str] = []

        def flush():
            if at is None:
                return
            lines = [l for l in body if l.strip()]
            if not lines:
                return
            call_id = next((l.split(":", 1)[1].strip() for l in lines
                            if l.lower().startswith("call-id:")), "")
            out.append(SipMessage(at, sent, lines[0].strip(), call_id))

        for line in self.log.read_text(errors="replace").splitlines():
            m = _HEADER.match(line)
            if m:
                flush()
                at = dt.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f")
                sent, body = False, []
                continue
            if at is not None and not body and ("message sent" in line or "message received" in line):
                sent = "message sent" in line
                body = [""]
                continue
            body.append(line)
        flush()
        return out

    def dialogs(self) -> dict[str, list[SipMessage]]:
        by_call: dict[str, list[SipMessage]] = {}
        for msg in self.messages():
            by_call.setdefault(msg.call_id, []).append(msg)
        return by_call

    def invites_by_number(self) -> "Counter[str]":
        """How often each number was called: the INVITEs this peer received, one per dialog,
        by the user part of their request URI (retransmissions are the same dialog)."""
        invites: Counter[str] = Counter()
        for msgs in self.dialogs().values():
            invite = next((m for m in msgs if m.method == "INVITE" and not m.sent), None)
            if invite is not None:
                invites[invite.first_line.split()[1].split("@")[0].removeprefix("sip:")] += 1
        return invites

    def diagnostics(self) -> str:
        parts = []
        for path in (self.stdout, self.errors):
            if path.exists():
                parts.append(f"== {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)
