"""The audio library through the real Asterisk: a prompt uploaded to a tenant's library (a
file sox converts) is what a caller hears when the tenant's IVR plays it on its DID (the
caller's audio recorded through a snoop channel and matched against the stored prompt)."""
from __future__ import annotations

import secrets
import subprocess

from models import Call, Did
from voxcast.audio import library, sounds
from voxcast.ivr import services as flow_service

from .conftest import wait_for
from .test_language import _match, _record_inbound, _samples


def test_given_a_library_prompt_in_an_ivr_when_its_did_is_called_then_the_caller_hears_it(
        stasis_app, settings, master, workdir):
    # an upload as a tenant makes one: speech at 22.05 kHz, which the library converts
    source = workdir / "offer.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(source),
                    "Thank you for calling. Our spring offer starts on Monday. "
                    "Every order ships free of charge."], check=True, capture_output=True)
    prompt = library.upload(master.id, f"Spring offer {secrets.token_hex(3)}", "offer.wav",
                            source.read_bytes(), settings)
    ivr = flow_service.save_ivr(master.id, f"library-{secrets.token_hex(3)}", {
        "start": "offer", "nodes": {"offer": {"type": "play", "sound": prompt.sound,
                                              "next": "bye"},
                                    "bye": {"type": "hangup"}}})
    number = "15557771701"
    Did.create(number=number, tenant=master, greeting_text="Not this greeting.", route="ivr",
               ivr=ivr)
    assert [u.kind for u in library.uses(master.id, [prompt])[prompt.id]] == ["ivr"]

    heard = _samples(_record_inbound(settings, number, workdir))
    call = wait_for(lambda: Call.get_or_none(Call.did == number, Call.ended_at.is_null(False)),
                    10, message="inbound CDR closed")
    assert call.tenant_id == master.id and call.disposition == "ANSWERED"
    stored = _samples(library.audio_path(settings, prompt))

    def chunk(x):  # a second from the prompt's second half (the snoop starts after the answer)
        return x[int(len(x) * 0.6):int(len(x) * 0.6) + 8000]
    assert _match(heard, chunk(stored)) > 0.8
    # the comparison tells sounds apart: other words in the same voice do not match
    other = workdir / "other.wav"
    subprocess.run(["espeak-ng", "-s", "150", "-w", str(other),
                    "Please hold the line while we connect you to the next free agent."],
                   check=True, capture_output=True)
    converted = workdir / "other-8k.wav"
    sounds.convert_file(other, converted)
    assert _match(heard, chunk(_samples(converted))) < 0.5
