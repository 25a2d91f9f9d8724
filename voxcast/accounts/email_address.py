"""The one e-mail address check of voxcast: the web forms (through the services), the API's
`format: email` and the contact import all call `normalize`.

email-validator's syntax rules (RFC 5321/5322 as mail servers really accept them), with no DNS
look-up: a look-up per imported row would be slow, fails on a network without a resolver, and
tells a third party which addresses we hold. SMTPUTF8 addresses (non-ASCII before the @) are
refused because the mailer cannot count on the relay to take them; an internationalised domain
is kept in its ASCII (IDNA) form, so what is stored is what is sent."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email

MAX_LENGTH = 254  # RFC 5321's limit on a forward path; email-validator enforces it


class InvalidEmail(ValueError):
    """Not a usable e-mail address; str() is email-validator's reason, in English."""


def normalize(address: str) -> str:
    """`address` in the form to store (domain lower-cased, IDNA), or InvalidEmail."""
    if not isinstance(address, str):
        raise InvalidEmail("An e-mail address must be text.")
    try:
        result = validate_email(address, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from None
    return result.ascii_email


def is_valid(address: str) -> bool:
    try:
        normalize(address)
    except InvalidEmail:
        return False
    return True
