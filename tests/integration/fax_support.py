"""Fax test helpers: documents made with Ghostscript, the trunk looped back into the same
Asterisk (so a campaign's fax call arrives as an inbound DID call that ReceiveFAX answers),
and waiting for a campaign's fax records (`fax_looped_back`: a campaign faxed to ourselves)."""
from __future__ import annotations

import contextlib
import dataclasses
import subprocess
from pathlib import Path

from models.entities import Message
from voxcast.campaigns import services as campaign_service
from voxcast.runtime import asterisk


def make_pdf(path: Path, pages: int) -> Path:
    """A PDF of `pages` pages with large text on each (PostScript through Ghostscript)."""
    ps = ["%!PS"]
    for n in range(1, pages + 1):
        ps += ["/Helvetica findfont 48 scalefont setfont",
               f"72 600 moveto (voxcast fax page {n}) show",
               "/Helvetica findfont 14 scalefont setfont"]
        ps += [f"72 {560 - 18 * i} moveto (line {i} of page {n}: the quick brown fox) show"
               for i in range(20)]
        ps.append("showpage")
    src = path.with_suffix(".ps")
    src.write_text("\n".join(ps) + "\n")
    subprocess.run(["gs", "-q", "-dSAFER", "-dBATCH", "-dNOPAUSE", "-sDEVICE=pdfwrite",
                    "-sPAPERSIZE=a4", f"-sOutputFile={path}", str(src)], check=True,
                   timeout=60)
    src.unlink()
    return path


@contextlib.contextmanager
def trunk_looped_back(settings, t38: bool = True):
    """The trunk's contact pointed at the instance's own SIP port while inside: a campaign call
    to +X comes back in from the trunk's address as a DID call to +X. `t38` False: the trunk
    without T.38 (an audio-only carrier), so both sides fax in audio. Restored after."""
    looped = dataclasses.replace(settings, trunk_port=settings.sip_port)
    asterisk.render(looped)
    if not t38:
        conf = settings.host_path(settings.ast_etc) / "pjsip.conf"
        text = conf.read_text()
        assert "t38_udptl = yes" in text
        conf.write_text(text.replace("t38_udptl = yes", "t38_udptl = no"))
    asterisk.cli(settings, "module reload res_pjsip.so")
    try:
        yield looped
    finally:
        asterisk.render(settings)
        asterisk.cli(settings, "module reload res_pjsip.so")


def fax_looped_back(campaign, settings, *, t38: bool = True, timeout: float = 150) -> Message:
    """The fax campaign started with the trunk looped back (`t38` as trunk_looped_back's),
    waited for until it completed (up to `timeout` s) and its tenant's received fax is
    stored; that received Message."""
    # here, not at the top: the unit tests import make_pdf without the integration conftest
    from .conftest import wait_for
    from .factories import reload
    with trunk_looped_back(settings, t38=t38):
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", timeout,
                 message="fax campaign completed")
        return wait_for(lambda: Message.select().where(
            Message.tenant == campaign.tenant_id, Message.direction == "inbound").first(), 30,
            message="received fax stored")
