"""Phone normalisation: the fast path agrees with phonenumbers and never accepts an invalid
number; the one-shot import_csv the API uses."""
from __future__ import annotations

import random

import phonenumbers
import pytest

from models import Contact, ContactGroup, Tenant
from voxcast.contacts.services import InvalidPhone, PhoneNormalizer, import_csv, normalize_phone


def reference(raw: str, region: str) -> str | None:
    try:
        n = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(n):
        return None
    return phonenumbers.format_number(n, phonenumbers.PhoneNumberFormat.E164)


@pytest.mark.parametrize("region", ["US", "GB", "DE", "IT", "FR", "IN", "BR", "AU"])
def test_fast_path_agrees_with_phonenumbers(region):
    rng = random.Random(region)
    cc = str(phonenumbers.country_code_for_region(region))
    samples = []
    for _ in range(1000):
        digits = "".join(rng.choice("0123456789") for _ in range(rng.randint(6, 12)))
        samples += [digits, "+" + cc + digits, "+" + digits, "0" + digits, "00" + cc + digits]
    for kind in ("mobile", "fixed_line"):
        example = phonenumbers.example_number_for_type(
            region, getattr(phonenumbers.PhoneNumberType, kind.upper()))
        samples.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL))
        samples.append(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    normalize = PhoneNormalizer(region)
    accepted = 0
    for raw in samples:
        try:
            got = normalize(raw)
        except InvalidPhone:
            got = None
        assert got == reference(raw, region), raw
        accepted += got is not None
        if got is not None:
            assert phonenumbers.is_valid_number(phonenumbers.parse(got))
    assert accepted > 10


def test_formats_and_errors():
    assert normalize_phone("(202) 555-0143", "US") == "+12025550143"
    assert normalize_phone("202.555.0143", "us") == "+12025550143"
    assert normalize_phone("+44 20 7946 0018", "US") == "+442079460018"
    assert normalize_phone("020 7946 0018", "GB") == "+442079460018"
    with pytest.raises(InvalidPhone, match="is not a valid phone number"):
        normalize_phone("+1 202 555 014", "US")
    with pytest.raises(InvalidPhone, match="empty"):
        normalize_phone("  ", "US")


def test_import_csv_one_shot_guesses_the_mapping(db):
    tenant = Tenant.get(Tenant.slug == "master")
    group = ContactGroup.create(tenant=tenant, name="API")
    data = "Telefon;Vorname;Custom Value 3\n2025550101;Ann;x\n2025550101;Dup;\n;Empty;\n"
    result = import_csv(group, "US", data.encode())
    assert (result.imported, result.duplicates, len(result.errors)) == (1, 1, 1)
    assert result.errors[0].row == 4 and "empty" in result.errors[0].reason
    c = Contact.get(Contact.group == group)
    assert (c.phone, c.first_name, c.custom3) == ("+12025550101", "Ann", "x")
    assert import_csv(group, "US", b"\x00\x01").fatal.startswith("This is not a CSV file")
