"""Passwords are hashed with scrypt unless VOXCAST_PASSWORD_HASH says otherwise (the suites
set a cheap method), and a stored hash verifies whatever the setting is now."""
from __future__ import annotations

from voxcast.accounts import passwords


def test_given_no_setting_then_passwords_are_hashed_with_scrypt(monkeypatch):
    monkeypatch.delenv("VOXCAST_PASSWORD_HASH", raising=False)
    stored = passwords.hash_password("s3cret-pw")
    assert stored.startswith("scrypt:")
    assert passwords.verify(stored, "s3cret-pw") and not passwords.verify(stored, "other")


def test_given_a_method_then_it_is_used_and_older_hashes_still_verify(monkeypatch):
    monkeypatch.delenv("VOXCAST_PASSWORD_HASH", raising=False)
    old = passwords.hash_password("pw-1")
    monkeypatch.setenv("VOXCAST_PASSWORD_HASH", "pbkdf2:sha256:1000")
    new = passwords.hash_password("pw-1")
    assert new.startswith("pbkdf2:sha256:1000$")
    assert passwords.verify(old, "pw-1") and passwords.verify(new, "pw-1")
    assert not passwords.verify(new, "pw-2")
