"""The live SMS counter (webui/static/sms_counter.js) in Debian's Chromium: the textarea's
data-sms-counter output shows the segments and encoding as the tenant types, by the same rule
as voxcast.messaging.sms.segments."""
from __future__ import annotations

from pathlib import Path

import pytest

from voxcast.messaging.sms.segments import count

SCRIPT = Path(__file__).resolve().parents[2] / "webui" / "static" / "sms_counter.js"
HTML = """<!doctype html><html><body>
<textarea id="sms_text" data-sms-counter="sms-counter"
  data-sms-counter-format="{units} / {segments} SMS / {encoding} / {left}"></textarea>
<output id="sms-counter"></output></body></html>"""


@pytest.mark.parametrize("text", ["Hello {first_name}", "a" * 161, "Price 5€ " * 20,
                                  "Grüße 😀 " * 9, "ł" * 134])
def test_given_a_text_when_typed_then_the_counter_shows_pythons_segments(page, text):
    page.set_content(HTML)
    page.add_script_tag(path=str(SCRIPT))
    out = page.locator("#sms-counter")
    assert out.get_attribute("data-segments") == "1"  # empty: one SMS
    page.fill("#sms_text", text)
    info = count(text)
    assert out.get_attribute("data-segments") == str(info.segments)
    assert out.get_attribute("data-encoding") == info.encoding
    shown = out.text_content()
    assert shown.startswith(f"{info.units} / {info.segments} SMS / ")
    assert ("GSM-7" if info.encoding == "gsm7" else "Unicode") in shown
    assert shown.endswith(f"/ {info.per_segment * info.segments - info.units}")
