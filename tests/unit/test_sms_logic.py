"""SMS pure logic: segments and encodings, templates, delivery receipts, opt-out words."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from voxcast.messaging.sms import optout, receipts, segments, templates
from voxcast.messaging.sms.segments import count

COUNTER_JS = Path(__file__).resolve().parents[2] / "webui" / "static" / "sms_counter.js"

SAMPLES = [
    "", "a", "a" * 160, "a" * 161, "a" * 306, "a" * 307, "€" * 80, "€" * 81,
    "a" * 152 + "€", "a" * 159 + "€", "Grüße aus Köln", "ü" * 161, "Łódź", "ł" * 70, "ł" * 71,
    "ł" * 134, "ł" * 135, "😀" * 35, "😀" * 36, "a" * 66 + "😀" + "b" * 10, "Price: 5€ [ok] {x}",
    "line\nbreak\r", "tab\tis not gsm", "ç" * 10, "Ç" * 10, "^" * 80, "~|\\" * 20,
]


@pytest.mark.parametrize("text,encoding,units,parts", [
    ("", "gsm7", 0, 1),
    ("a" * 160, "gsm7", 160, 1),
    ("a" * 161, "gsm7", 161, 2),
    ("a" * 306, "gsm7", 306, 2),
    ("a" * 307, "gsm7", 307, 3),
    ("€" * 80, "gsm7", 160, 1),  # extension chars count 2
    ("€" * 81, "gsm7", 162, 2),
    ("a" * 152 + "€", "gsm7", 154, 1),
    ("a" * 159 + "€", "gsm7", 161, 2),  # the escape pair is not split: 152 + (1 + 2)
    ("Grüße aus Köln", "gsm7", 14, 1),  # ü, ö are in the default alphabet
    ("Łódź", "ucs2", 4, 1),
    ("ł" * 70, "ucs2", 70, 1),
    ("ł" * 71, "ucs2", 71, 2),
    ("ł" * 134, "ucs2", 134, 2),
    ("ł" * 135, "ucs2", 135, 3),
    ("😀" * 35, "ucs2", 70, 1),  # surrogate pairs count 2 units
    ("😀" * 36, "ucs2", 72, 2),
    ("a" * 66 + "😀" + "b", "ucs2", 69, 1),
    ("a" * 66 + "😀" + "b" * 4, "ucs2", 72, 2),
    ("tab\t", "ucs2", 4, 1),  # TAB is not in GSM 03.38
])
def test_count(text, encoding, units, parts):
    info = count(text)
    assert (info.encoding, info.units, info.segments) == (encoding, units, parts)


def test_segments_udh_and_payloads():
    parts = segments.segments("a" * 200, ref=0x1A2)
    assert [p.seq for p in parts] == [1, 2] and all(p.total == 2 for p in parts)
    assert parts[0].payload[:6] == bytes((5, 0, 3, 0xA2, 2, 1))
    assert parts[1].payload[:6] == bytes((5, 0, 3, 0xA2, 2, 2))
    assert len(parts[0].payload) == 6 + 153 and len(parts[1].payload) == 6 + 47
    assert all(p.esm_class == 0x40 and p.data_coding == 0 for p in parts)
    single = segments.segments("Hi {x} €", ref=1)
    assert len(single) == 1 and single[0].esm_class == 0
    assert single[0].payload == b"Hi \x1b\x28x\x1b\x29 \x1b\x65"
    assert segments.decode_gsm7(single[0].payload) == "Hi {x} €"


def test_segments_ucs2_never_split_surrogates():
    text = "x" * 66 + "😀" + "y" * 10
    parts = segments.segments(text, ref=7)
    assert len(parts) == 2 and parts[0].data_coding == 8
    rebuilt = "".join(p.payload[6:].decode("utf-16-be") for p in parts)
    assert rebuilt == text
    assert len(parts[0].payload[6:]) == 66 * 2  # the pair went to part 2


def test_segments_gsm_never_split_escape():
    text = "a" * 152 + "€" + "b" * 10
    parts = segments.segments(text, ref=1)
    assert segments.decode_gsm7(parts[0].payload[6:]) == "a" * 152
    assert segments.decode_gsm7(parts[1].payload[6:]) == "€" + "b" * 10


def test_decode_inbound():
    assert segments.decode("Stop".encode("utf-16-be"), 8) == "Stop"
    assert segments.decode(b"STOP", 0) == "STOP"
    assert segments.decode("Grüße".encode("latin-1"), 3) == "Grüße"


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_counter_js_counts_as_python():
    script = ("const c = require(process.argv[1]);"
              "const s = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
              "console.log(JSON.stringify(s.map((t) => {const r = c.count(t);"
              " return [r.encoding, r.units, r.segments, r.perSegment];})));")
    done = subprocess.run(["node", "-e", script, str(COUNTER_JS)], input=json.dumps(SAMPLES),
                          capture_output=True, text=True, check=True, timeout=30)
    got = json.loads(done.stdout)
    want = [[i.encoding, i.units, i.segments, i.per_segment] for i in map(count, SAMPLES)]
    assert got == want


def test_template_fill():
    fields = {"first_name": "Ana", "last_name": "Lima", "custom1": "42", "custom2": None}
    assert templates.render("Hi {first_name} {last_name}, code {custom1}{custom2}.", fields) \
        == "Hi Ana Lima, code 42."
    assert templates.render("{unknown} {not a field} {", fields) == " {not a field} {"
    assert templates.render("a\r\nb", {}) == "a\nb"
    assert templates.unknown_fields("{first_name} {foo} {custom9}") == ["custom9", "foo"]


@pytest.mark.parametrize("text,mid,stat,state,err", [
    ("id:0123456789 sub:001 dlvrd:001 submit date:2612021200 done date:2612021201 stat:DELIVRD "
     "err:000 text:Hello there", "0123456789", "DELIVRD", "delivered", ""),
    ("stat:UNDELIV err:012 id:abc123 text:x", "abc123", "UNDELIV", "undelivered", "012"),
    ("ID:77 STAT:expired", "77", "EXPIRED", "expired", ""),
    ("id:1 stat:REJECTD err:0x0b", "1", "REJECTD", "rejected", "0x0b"),
    ("id:2 stat:DELETED", "2", "DELETED", "undelivered", ""),
    ("id:3 stat:UNKNOWN", "3", "UNKNOWN", "undelivered", ""),
    ("id:4 stat:ACCEPTD", "4", "ACCEPTD", None, ""),
    ("id:5 stat:ENROUTE", "5", "ENROUTE", None, ""),
    ("id:6 sub:001", "6", "", None, ""),  # no stat: not final
    ("id:7 stat:Delivered", "7", "DELIVRD", "delivered", ""),
    ("id:8 stat:WEIRD", "8", "WEIRD", "undelivered", ""),
    ("id : 9  submit_date:2612021200 stat : DELIVRD", "9", "DELIVRD", "delivered", ""),
])
def test_receipt_text(text, mid, stat, state, err):
    r = receipts.parse(text.encode())
    assert (r.message_id, r.stat, r.state, r.error) == (mid, stat, state, err)


def test_receipt_text_field_keeps_spaces_and_tlvs_win():
    r = receipts.parse(b"id:1 stat:DELIVRD text:stat:UNDELIV is in the text")
    assert r.state == "delivered" and r.text.startswith("stat:UNDELIV")  # first key wins
    r = receipts.parse(b"id:1 stat:DELIVRD", receipted_message_id=b"ABC", message_state=5)
    assert (r.message_id, r.stat, r.state) == ("ABC", "UNDELIV", "undelivered")
    assert receipts.parse(b"hello") is None
    assert receipts.parse(b"", receipted_message_id="x9", message_state=2).state == "delivered"


def test_receipt_id_candidates():
    assert set(receipts.id_candidates("255")) >= {"255", "ff", "FF", "597"}
    assert set(receipts.id_candidates("00ff")) >= {"00ff", "255", "ff"}
    assert receipts.id_candidates("msg-1") == ["msg-1"]


@pytest.mark.parametrize("text,hit", [
    ("STOP", True), ("stop", True), ("  Stop!  ", True), ("STOPP.", True), ("stop please", True),
    ("Abmelden", True), ("unsubscribe", True), ("«STOP»", True), ("Don't stop", False),
    ("STOPPING", False), ("", False), ("!!!", False), ("hello", False),
])
def test_opt_out(text, hit):
    assert optout.is_opt_out(text, "STOP STOPP UNSUBSCRIBE ABMELDEN") is hit


def test_opt_out_setting_forms():
    assert optout.words("stop, Quit;ENDE") == {"stop", "quit", "ende"}
    assert optout.is_opt_out("quit", "stop, Quit") and not optout.is_opt_out("stop", "")
