"""The four PDUs every message costs (submit_sm out, submit_sm_resp in, deliver_sm in,
deliver_sm_resp out), packed and unpacked with struct. smpplib's generic PDU classes took
about half of the event loop's time at a few thousand messages a second; every other PDU
(binds, enquire_link, unbind, generic_nack, data_sm) still goes through smpplib, which the
unit tests also use as the reference these must agree with byte for byte."""
from __future__ import annotations

import struct

SUBMIT_SM = 0x00000004
SUBMIT_SM_RESP = 0x80000004
DELIVER_SM = 0x00000005
DELIVER_SM_RESP = 0x80000005
HOT_IN = frozenset({SUBMIT_SM_RESP, DELIVER_SM})

_HEADER = struct.Struct(">LLLL")
_U16 = struct.Struct(">HH")

# The TLVs a deliver_sm may carry that we read (tag -> name, kind); others are skipped.
_TLVS = {
    0x001E: ("receipted_message_id", "str"),
    0x0427: ("message_state", "int"),
    0x0424: ("message_payload", "bytes"),
    0x020C: ("sar_msg_ref_num", "int"),
    0x020E: ("sar_total_segments", "int"),
    0x020F: ("sar_segment_seqnum", "int"),
}


class HotPduError(ValueError):
    """A hot PDU that cannot be read (truncated, a string without its NUL)."""


class Pdu:
    """What the reader uses of a decoded PDU, under smpplib's attribute names (None where
    the PDU did not carry the field)."""
    command = ""
    status = 0
    sequence = 0
    message_id = None
    service_type = None
    source_addr_ton = source_addr_npi = dest_addr_ton = dest_addr_npi = None
    source_addr = destination_addr = None
    esm_class = protocol_id = priority_flag = None
    registered_delivery = data_coding = None
    short_message = None
    receipted_message_id = None
    message_state = None
    message_payload = None
    sar_msg_ref_num = sar_total_segments = sar_segment_seqnum = None


def encode_submit_sm(sequence: int, *, source_addr_ton: int, source_addr_npi: int,
                     source_addr: str, dest_addr_ton: int, dest_addr_npi: int,
                     destination_addr: str, esm_class: int, data_coding: int,
                     short_message: bytes, registered_delivery: int = 1,
                     service_type: str = "") -> bytes:
    """A submit_sm as smpplib generates it (no TLVs, short_message at most 254 octets)."""
    if len(short_message) > 254:
        raise HotPduError("short_message longer than 254 octets")
    body = b"".join((
        service_type.encode("ascii"), b"\x00",
        bytes((source_addr_ton, source_addr_npi)), source_addr.encode("ascii"), b"\x00",
        bytes((dest_addr_ton, dest_addr_npi)), destination_addr.encode("ascii"), b"\x00",
        # esm_class, protocol_id, priority_flag, schedule (empty), validity (empty)
        bytes((esm_class, 0, 0, 0, 0)),
        # registered_delivery, replace_if_present, data_coding, sm_default_msg_id, sm_length
        bytes((registered_delivery, 0, data_coding, 0, len(short_message))),
        short_message,
    ))
    return _HEADER.pack(16 + len(body), SUBMIT_SM, 0, sequence) + body


def encode_deliver_sm_resp(sequence: int) -> bytes:
    """deliver_sm_resp with its empty message_id, as smpplib generates it."""
    return _HEADER.pack(17, DELIVER_SM_RESP, 0, sequence) + b"\x00"


def command_of(data: bytes) -> int:
    return _HEADER.unpack_from(data)[1]


def decode(data: bytes) -> Pdu:
    """A submit_sm_resp or deliver_sm (the whole PDU, header included)."""
    if len(data) < 16:
        raise HotPduError("PDU shorter than its header")
    _, command_id, status, sequence = _HEADER.unpack_from(data)
    pdu = Pdu()
    pdu.status, pdu.sequence = status, sequence
    if command_id == SUBMIT_SM_RESP:
        pdu.command = "submit_sm_resp"
        if len(data) > 16:
            pdu.message_id, _ = _cstring(data, 16)
        return pdu
    if command_id != DELIVER_SM:
        raise HotPduError(f"not a hot PDU: 0x{command_id:08x}")
    pdu.command = "deliver_sm"
    try:
        pdu.service_type, pos = _cstring(data, 16)
        pdu.source_addr_ton, pdu.source_addr_npi = data[pos], data[pos + 1]
        pdu.source_addr, pos = _cstring(data, pos + 2)
        pdu.dest_addr_ton, pdu.dest_addr_npi = data[pos], data[pos + 1]
        pdu.destination_addr, pos = _cstring(data, pos + 2)
        pdu.esm_class, pdu.protocol_id, pdu.priority_flag = data[pos], data[pos + 1], data[pos + 2]
        _, pos = _cstring(data, pos + 3)  # schedule_delivery_time
        _, pos = _cstring(data, pos)  # validity_period
        pdu.registered_delivery = data[pos]
        pdu.data_coding = data[pos + 2]
        length = data[pos + 4]
        pos += 5
        if pos + length > len(data):
            raise HotPduError("short_message runs past the PDU")
        pdu.short_message = data[pos:pos + length]
        pos += length
    except IndexError:
        raise HotPduError("deliver_sm truncated") from None
    while pos + 4 <= len(data):
        tag, size = _U16.unpack_from(data, pos)
        pos += 4
        value = data[pos:pos + size]
        if len(value) < size:
            raise HotPduError("a TLV runs past the PDU")
        pos += size
        known = _TLVS.get(tag)
        if known is None:
            continue
        name, kind = known
        if kind == "int":
            setattr(pdu, name, int.from_bytes(value, "big") if value else None)
        elif kind == "str":
            setattr(pdu, name, value[:-1] if value.endswith(b"\x00") else value)
        else:
            setattr(pdu, name, value)
    return pdu


def _cstring(data: bytes, pos: int) -> tuple[bytes, int]:
    end = data.find(b"\x00", pos)
    if end < 0:
        raise HotPduError("a string without its NUL")
    return data[pos:end], end + 1
