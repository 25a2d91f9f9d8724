"""Concatenated MO SMS headers and joining (voxcast.messaging.sms.concat)."""
from voxcast.messaging.sms import concat
from voxcast.messaging.sms.concat import PartInfo


def test_given_an_8bit_reference_udh_then_part_and_text_are_split():
    info, body = concat.split_udh(bytes([5, 0, 3, 0x2A, 3, 2]) + b"hello")
    assert info == PartInfo(0x2A, 3, 2) and body == b"hello"


def test_given_a_16bit_reference_udh_then_the_reference_is_both_octets():
    info, body = concat.split_udh(bytes([6, 8, 4, 0x01, 0x02, 2, 1]) + b"x")
    assert info == PartInfo(0x0102, 2, 1) and body == b"x"


def test_given_a_udh_with_another_element_first_then_the_concatenation_is_still_found():
    info, body = concat.split_udh(bytes([9, 0x24, 2, 1, 2, 0, 3, 7, 2, 2]) + b"yo")
    assert info == PartInfo(7, 2, 2) and body == b"yo"


def test_given_a_malformed_udh_then_the_data_is_kept_as_text():
    assert concat.split_udh(bytes([40, 0, 3]) + b"abc") == (None, bytes([40, 0, 3]) + b"abc")
    info, body = concat.split_udh(bytes([5, 0, 3, 1, 2, 3]) + b"z")  # part 3 of 2
    assert info is None and body == b"z"


def test_given_sar_tlvs_then_they_describe_the_part():
    assert concat.from_tlvs(300, 2, 1) == PartInfo(300, 2, 1)
    assert concat.from_tlvs(None, 2, 1) is None and concat.from_tlvs(1, 1, 1) is None


def test_given_parts_out_of_order_and_one_twice_then_the_text_is_joined_in_order():
    info = [PartInfo(9, 3, s) for s in (3, 1, 2, 1)]
    parts = [(concat.part_key("+4917", "4930", i), t)
             for i, t in zip(info, ["three", "one ", "two ", "ONE AGAIN"])]
    assert concat.complete(parts, 3)
    assert concat.join(parts) == "one two three"
    assert not concat.complete(parts[:2], 3)
