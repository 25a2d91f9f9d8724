"""The hot PDUs agree with smpplib, the reference: what we pack is byte for byte what smpplib
generates, what we unpack reads the fields smpplib reads from PDUs smpplib generated."""
import pytest

from messaging_app import smpp_codec as codec, smpp_hot


class _Seq:
    def __init__(self, n):
        self.n = n

    def next_sequence(self):
        return self.n


@pytest.mark.parametrize("fields", [
    dict(source_addr_ton=5, source_addr_npi=0, source_addr="Voxcast", dest_addr_ton=1,
         dest_addr_npi=1, destination_addr="4915112345678", esm_class=0, data_coding=0,
         short_message=b"Hello Ann, your appointment is tomorrow."),
    dict(source_addr_ton=1, source_addr_npi=1, source_addr="4930123456", dest_addr_ton=1,
         dest_addr_npi=1, destination_addr="4915112345678", esm_class=0x40, data_coding=8,
         short_message=b"\x05\x00\x03\x07\x02\x01" + "Grüße €".encode("utf-16-be")),
    dict(source_addr_ton=0, source_addr_npi=0, source_addr="", dest_addr_ton=0,
         dest_addr_npi=0, destination_addr="1", esm_class=0, data_coding=0,
         short_message=b""),
])
def test_given_submit_fields_when_packed_then_the_bytes_are_smpplibs(fields):
    ours = smpp_hot.encode_submit_sm(4711, registered_delivery=1, **fields)
    theirs = codec.make("submit_sm", _Seq(4711), service_type="", registered_delivery=1,
                        **fields).generate()
    assert ours == theirs


def test_given_a_sequence_when_deliver_sm_resp_is_packed_then_it_is_smpplibs():
    assert smpp_hot.encode_deliver_sm_resp(99) == \
        codec.make("deliver_sm_resp", sequence=99).generate()


def test_given_submit_sm_resp_with_and_without_id_when_unpacked_then_as_smpplib_reads_them():
    for status, fields in ((0, {"message_id": "a1b2c3"}), (codec.RTHROTTLED, {})):
        data = codec.make("submit_sm_resp", sequence=12, **fields).generate()
        data = data[:8] + status.to_bytes(4, "big") + data[12:]
        ours, theirs = smpp_hot.decode(data), codec.decode(data)
        assert (ours.command, ours.status, ours.sequence) == \
            (theirs.command, theirs.status, theirs.sequence)
        assert codec.as_text(ours.message_id) == codec.as_text(getattr(theirs, "message_id", None))


@pytest.mark.parametrize("tlvs", [
    {},
    {"receipted_message_id": "00ff12", "message_state": 2},
    {"sar_msg_ref_num": 513, "sar_total_segments": 3, "sar_segment_seqnum": 2},
])
def test_given_a_deliver_sm_made_by_smpplib_when_unpacked_then_every_field_we_use_matches(tlvs):
    data = codec.make("deliver_sm", _Seq(77), source_addr="4915112345678", source_addr_ton=1,
                      source_addr_npi=1, destination_addr="4930123456", esm_class=0x04,
                      data_coding=0, short_message=b"id:00ff12 sub:001 dlvrd:001 stat:DELIVRD",
                      **tlvs).generate()
    ours, theirs = smpp_hot.decode(data), codec.decode(data)
    for name in ("command", "status", "sequence", "source_addr", "destination_addr",
                 "source_addr_ton", "esm_class", "data_coding", "short_message",
                 "receipted_message_id", "message_state", "sar_msg_ref_num",
                 "sar_total_segments", "sar_segment_seqnum", "message_payload"):
        assert getattr(ours, name) == getattr(theirs, name, None), name


def test_given_a_payload_tlv_and_an_unknown_tlv_when_unpacked_then_the_payload_is_read_and_the_other_skipped():
    data = codec.make("deliver_sm", _Seq(5), source_addr="1", destination_addr="2",
                      short_message=b"", message_payload=b"x" * 200).generate()
    extra = b"\x14\x00\x00\x02ab"  # a vendor TLV we do not know
    data = (len(data) + len(extra)).to_bytes(4, "big") + data[4:] + extra
    pdu = smpp_hot.decode(data)
    assert pdu.message_payload == b"x" * 200 and pdu.short_message == b""


@pytest.mark.parametrize("cut", [17, 25, 40])
def test_given_a_truncated_deliver_sm_when_unpacked_then_a_clear_error(cut):
    data = codec.make("deliver_sm", _Seq(5), source_addr="4915112345678",
                      destination_addr="4930123456", short_message=b"hello there").generate()
    with pytest.raises(smpp_hot.HotPduError):
        smpp_hot.decode(data[:cut])


def test_given_a_text_longer_than_one_pdu_holds_when_packed_then_refused():
    with pytest.raises(smpp_hot.HotPduError):
        smpp_hot.encode_submit_sm(1, source_addr_ton=0, source_addr_npi=0, source_addr="a",
                                  dest_addr_ton=0, dest_addr_npi=0, destination_addr="1",
                                  esm_class=0, data_coding=0, short_message=b"x" * 255)
