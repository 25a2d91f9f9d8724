"""SMPP 3.4 PDUs over asyncio streams, encoded and decoded by smpplib (its PDU layer only:
its Client is a blocking socket, our process is one asyncio loop), except the PDUs every
message costs (smpp_hot)."""
from __future__ import annotations

import asyncio
import struct

from smpplib import consts, smpp

from messaging_app import smpp_hot

MAX_PDU = 64 * 1024
ROK = consts.SMPP_ESME_ROK
RTHROTTLED = consts.SMPP_ESME_RTHROTTLED
RMSGQFUL = consts.SMPP_ESME_RMSGQFUL
RINVDSTADR = consts.SMPP_ESME_RINVDSTADR
RBINDFAIL = consts.SMPP_ESME_RBINDFAIL
RINVPASWD = consts.SMPP_ESME_RINVPASWD
RSYSERR = consts.SMPP_ESME_RSYSERR
RETRYABLE = frozenset({RTHROTTLED, RMSGQFUL})


class Sequence:
    """smpplib asks its `client` for sequence numbers; this is ours (1..0x7FFFFFFF)."""

    def __init__(self) -> None:
        self.sequence = 0

    def next_sequence(self) -> int:
        self.sequence = 1 if self.sequence >= 0x7FFFFFFF else self.sequence + 1
        return self.sequence


class _NoSequence:
    """For parsing: smpplib takes a sequence number for every request PDU it builds, even
    one it is about to overwrite with the parsed one."""
    sequence = 0

    def next_sequence(self) -> int:
        return 0


_PARSER = _NoSequence()


class PduError(Exception):
    pass


def make(command: str, seq: Sequence | None = None, sequence: int | None = None, **fields):
    """A PDU object; requests take their number from `seq`, responses get `sequence`."""
    pdu = smpp.make_pdu(command, client=seq or _PARSER, allow_unknown_opt_params=True, **fields)
    if sequence is not None:
        pdu.sequence = sequence
    return pdu


def status_text(status: int) -> str:
    return f"{consts.DESCRIPTIONS.get(status, 'error')} (0x{status:08x})"


def decode(data: bytes):
    return smpp.parse_pdu(data, client=_PARSER, allow_unknown_opt_params=True)


async def read_pdu(reader: asyncio.StreamReader):
    """The next PDU, or None at the end of the stream."""
    try:
        head = await reader.readexactly(4)
        (length,) = struct.unpack(">L", head)
        if length < 16 or length > MAX_PDU:
            raise PduError(f"bad PDU length {length}")
        body = await reader.readexactly(length - 4)
    except asyncio.IncompleteReadError:
        return None
    data = head + body
    if smpp_hot.command_of(data) in smpp_hot.HOT_IN:
        try:
            return smpp_hot.decode(data)
        except smpp_hot.HotPduError as exc:
            raise PduError(str(exc)) from None
    return decode(data)


def as_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1").rstrip("\x00")
    return str(value)
