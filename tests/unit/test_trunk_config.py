"""The PSTN trunk as rendered into pjsip.conf: identified by address only (its host plus
VOXCAST_TRUNK_ALLOW), with inbound credentials when configured, nothing injectable."""
from __future__ import annotations

import dataclasses
import os

import pytest

from voxcast import config
from voxcast.runtime import asterisk


@pytest.fixture
def root_settings(settings):
    """An Asterisk filesystem with just what render needs: an asterisk user (us)."""
    (settings.asterisk_root / "etc").mkdir(parents=True)
    (settings.asterisk_root / "etc/passwd").write_text(
        f"asterisk:x:{os.getuid()}:{os.getgid()}::/var/lib/asterisk:/bin/false\n")
    return settings


def rendered(settings, name="pjsip.conf") -> str:
    return (settings.host_path(settings.ast_etc) / name).read_text()


def test_trunk_is_matched_on_its_host_and_allowed_carriers_only(root_settings):
    settings = dataclasses.replace(root_settings, trunk_host="198.51.100.1",
                                   trunk_allow=("203.0.113.0/28", "198.51.100.1"))
    asterisk.render(settings)
    pjsip = rendered(settings)
    assert "match = 198.51.100.1,203.0.113.0/28\n" in pjsip
    assert "identify_by = ip\n" in pjsip  # never by a From user of "pstn"
    assert "auth = \n" in pjsip
    assert not (settings.host_path(settings.ast_etc) / asterisk.TRUNK_AUTH_FILE).exists()


def test_inbound_credentials_are_rendered_from_the_environment_or_runtime_file(root_settings):
    settings = dataclasses.replace(root_settings, trunk_inbound_user="carrier",
                                   trunk_inbound_password="s3cret-from-env")
    asterisk.render(settings)
    assert f"auth = {asterisk.TRUNK_AUTH}\n" in rendered(settings)
    auth = rendered(settings, asterisk.TRUNK_AUTH_FILE)
    assert "username = carrier\npassword = s3cret-from-env\n" in auth

    from_file = dataclasses.replace(settings, trunk_inbound_password="")
    from_file.trunk_password_file.parent.mkdir(parents=True, exist_ok=True)
    from_file.trunk_password_file.write_text("s3cret-from-file\n")
    asterisk.render(from_file)
    assert "password = s3cret-from-file\n" in rendered(from_file, asterisk.TRUNK_AUTH_FILE)

    from_file.trunk_password_file.unlink()
    with pytest.raises(asterisk.AsteriskError, match="both"):  # a user without a password
        asterisk.render(from_file)


@pytest.mark.parametrize("changes", [
    {"trunk_allow": ("203.0.113.7\n[evil]",)},
    {"trunk_host": "127.0.0.1;x"},
    {"trunk_inbound_user": "carrier", "trunk_inbound_password": "pw;comment"},
])
def test_values_that_would_change_the_config_are_refused(root_settings, changes):
    with pytest.raises(asterisk.AsteriskError):
        asterisk.render(dataclasses.replace(root_settings, **changes))


def test_allowed_carriers_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("VOXCAST_TRUNK_ALLOW", "203.0.113.7, 203.0.113.8 192.0.2.0/24")
    monkeypatch.setenv("VOXCAST_TRUNK_INBOUND_USER", "carrier")
    settings = config.load("t-unit")
    assert settings.trunk_allow == ("203.0.113.7", "203.0.113.8", "192.0.2.0/24")
    assert settings.trunk_addresses[0] == settings.trunk_host
    assert settings.trunk_inbound_user == "carrier"
