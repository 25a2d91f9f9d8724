"""Signed references in e-mails: the unsubscribe token of a link (tenant, address, campaign)
and the VERP bounce address of one message (bounce+<message id>.<mac>@domain).

Both are signed with the instance secret (the web UI's secret key, shared by the processes of
an instance), each with its own derived key, so a token can neither be forged nor turned into
another tenant's or another address's."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeSerializer

from voxcast.errors import ServiceError

VERP_MAC_LEN = 12
# <local>+<kind><message id>.<mac>@<domain>: kind "" a bounce, "u" an unsubscribe by mail
# (the tag after the local part's first '+'; the local part and domain are the bounce address's)
_VERP_TAG = re.compile(r"^(?P<kind>u?)(?P<id>\d{1,12})\.(?P<mac>[0-9a-f]{%d})$" % VERP_MAC_LEN,
                       re.IGNORECASE)


class BadToken(ServiceError, ValueError):
    """An unsubscribe link that was altered, truncated or signed by another instance."""
    code, status = "bad-unsubscribe-token", 400


@dataclass(frozen=True)
class UnsubscribeRef:
    tenant_id: int
    address: str
    campaign_id: int | None = None


class Signer:
    def __init__(self, secret: str):
        if not secret:
            raise ValueError("the instance secret is empty")
        self._unsubscribe = URLSafeSerializer(secret, salt="voxcast.email.unsubscribe")
        self._verp_key = hmac.new(secret.encode(), b"voxcast.email.verp", hashlib.sha256).digest()

    # -- unsubscribe -------------------------------------------------------------------------
    def unsubscribe_token(self, tenant_id: int, address: str, campaign_id: int | None = None) -> str:
        return self._unsubscribe.dumps([int(tenant_id), address.strip().lower(), campaign_id])

    def read_unsubscribe(self, token: str) -> UnsubscribeRef:
        try:
            data = self._unsubscribe.loads(token or "")
        except BadSignature:
            raise BadToken("This unsubscribe link is not valid (altered or incomplete).") from None
        if (not isinstance(data, list) or len(data) != 3 or not isinstance(data[0], int)
                or not isinstance(data[1], str) or "@" not in data[1]
                or not (data[2] is None or isinstance(data[2], int))):
            raise BadToken("This unsubscribe link is not valid.")
        return UnsubscribeRef(data[0], data[1], data[2])

    # -- VERP --------------------------------------------------------------------------------
    def mac(self, message_id: int, kind: str = "") -> str:
        return hmac.new(self._verp_key, f"{kind}{int(message_id)}".encode(),
                        hashlib.sha256).hexdigest()[:VERP_MAC_LEN]

    def verp(self, message_id: int, bounce_address: str, kind: str = "") -> str:
        """The envelope sender of one message (kind ""): bounces to it name the message; kind
        "u": the List-Unsubscribe mailto address of the message."""
        local, _, domain = bounce_address.strip().rpartition("@")
        local = (local or "bounce").split("+", 1)[0]
        return (f"{local}+{kind}{int(message_id)}.{self.mac(message_id, kind)}"
                f"@{domain or 'localhost'}")

    def read_verp(self, address: str) -> tuple[str, int] | None:
        """(kind, message id) of a VERP address, None when it is not one of ours (or forged)."""
        local, at, domain = (address or "").strip().strip("<>").rpartition("@")
        _, plus, tag = local.partition("+")
        match = _VERP_TAG.match(tag) if at and plus and domain else None
        if not match:
            return None
        kind, message_id = match.group("kind").lower(), int(match.group("id"))
        if not hmac.compare_digest(match.group("mac").lower(), self.mac(message_id, kind)):
            return None
        return kind, message_id
