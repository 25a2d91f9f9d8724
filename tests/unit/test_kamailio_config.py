"""Kamailio in front of the nodes: the node list, the rendered kamailio.cfg (checked by the
real `kamailio -c` when Debian's package is installed), and what the nodes render for it
(Kamailio's address accepted like the trunk's, phones' Contacts kept, Path supported)."""
from __future__ import annotations

import dataclasses
import os
import shutil
from types import SimpleNamespace

import pytest

from voxcast.runtime import asterisk, kamailio, pjsip_sync, sip_guard


def test_nodes_are_parsed_with_names_ports_and_defaults():
    nodes = kamailio.parse_nodes("a=10.0.0.1:5062, 10.0.0.2  c=[2001:db8::5]:5070")
    assert nodes == [kamailio.Node("a", "10.0.0.1", 5062), kamailio.Node("node2", "10.0.0.2", 5060),
                     kamailio.Node("c", "2001:db8::5", 5070)]
    assert [n.uri for n in nodes] == ["sip:10.0.0.1:5062", "sip:10.0.0.2:5060",
                                      "sip:[2001:db8::5]:5070"]


@pytest.mark.parametrize("text", ["a=10.0.0.1:99999", "a b=10.0.0.1;x", "a=10.0.0.1 b=10.0.0.1",
                                  "a/b=10.0.0.1"])
def test_bad_node_lists_are_refused(text):
    with pytest.raises(kamailio.KamailioError):
        kamailio.parse_nodes(text)


def test_without_a_node_list_the_instance_dispatches_to_its_own_asterisk(settings):
    assert kamailio.configured_nodes(settings, environ={}) == [
        kamailio.Node("t", "127.0.0.1", settings.sip_port)]
    assert kamailio.configured_nodes(settings, environ={"VOXCAST_NODES": "x=192.0.2.9"}) == [
        kamailio.Node("x", "192.0.2.9", 5060)]


def test_listen_port_follows_the_instance_offset_and_is_an_address():
    run = SimpleNamespace(instance="run")
    other = SimpleNamespace(instance="h")
    assert kamailio.kamailio_settings(run, environ={}).port == 5080
    assert kamailio.kamailio_settings(other, environ={"VOXCAST_PORT_OFFSET": "1400"}).port == 16480
    with pytest.raises(kamailio.KamailioError):
        kamailio.kamailio_settings(run, environ={"VOXCAST_KAMAILIO_LISTEN": "0.0.0.0\nx"})


def test_dispatcher_list_has_one_line_per_node_in_set_1():
    text = kamailio.dispatcher_list([kamailio.Node("a", "10.0.0.1", 5060),
                                     kamailio.Node("b", "10.0.0.2", 5062)])
    lines = [line for line in text.splitlines() if not line.startswith("#")]
    assert lines == ["1 sip:10.0.0.1:5060 0 0 duid=a;node=a",
                     "1 sip:10.0.0.2:5062 0 0 duid=b;node=b"]


def test_carriers_are_matched_by_source_address_and_host_names_are_left_out():
    body = kamailio.carrier_match(["198.51.100.1", "203.0.113.0/28", "carrier.example"])
    assert body.splitlines() == ["\tif (src_ip==198.51.100.1/32) { return 1; }",
                                 "\tif (src_ip==203.0.113.0/28) { return 1; }"]


def _rendered(settings, monkeypatch, modules="/usr/lib/x86_64-linux-gnu/kamailio/modules"):
    monkeypatch.setattr(kamailio, "modules_dir", lambda: modules)
    monkeypatch.setenv("VOXCAST_PORT_OFFSET", "1400")
    settings = dataclasses.replace(settings, trunk_host="198.51.100.1",
                                   trunk_allow=("203.0.113.0/28",))
    nodes = [kamailio.Node("a", "127.0.0.1", 16460), kamailio.Node("b", "127.0.0.1", 16510)]
    return kamailio.render(settings, nodes=nodes), settings


def test_rendered_config_listens_dispatches_and_health_checks(settings, monkeypatch):
    cfg, settings = _rendered(settings, monkeypatch)
    text = cfg.read_text()
    assert "@@" not in text.replace("kamailio@", "")
    assert "listen=udp:127.0.0.1:16480\n" in text
    assert 'modparam("dispatcher", "ds_ping_method", "OPTIONS")' in text
    assert 'modparam("dispatcher", "ds_probing_mode", 1)' in text
    assert 'modparam("dispatcher", "ds_ping_interval", 2)' in text
    assert 'modparam("tm", "fr_timer", 2000)' in text
    assert "\tif (src_ip==198.51.100.1/32) { return 1; }" in text
    assert "ds_next_dst()" in text and "record_route()" in text and "add_path_received()" in text
    assert (cfg.parent / "dispatcher.list").read_text().count("\n1 sip:127.0.0.1:") == 2
    assert str(kamailio.ctl_socket(settings)) in text


@pytest.mark.skipif(shutil.which("kamailio") is None,
                    reason="Debian's kamailio package is not installed (make test-deps)")
def test_rendered_config_is_accepted_by_kamailio(settings, monkeypatch):
    cfg, _ = _rendered(settings, monkeypatch, modules=kamailio.modules_dir())
    kamailio.check(cfg)  # kamailio -c: parses, every module and function known


@pytest.fixture
def root_settings(settings):
    (settings.asterisk_root / "etc").mkdir(parents=True)
    (settings.asterisk_root / "etc/passwd").write_text(
        f"asterisk:x:{os.getuid()}:{os.getgid()}::/var/lib/asterisk:/bin/false\n")
    return settings


def test_nodes_accept_kamailio_like_the_trunk_and_never_ban_it(root_settings):
    settings = dataclasses.replace(root_settings, trunk_host="198.51.100.1",
                                   sip_proxies=("192.0.2.5",))
    asterisk.render(settings)
    pjsip = (settings.host_path(settings.ast_etc) / "pjsip.conf").read_text()
    assert "match = 198.51.100.1,192.0.2.5\n" in pjsip
    assert sip_guard.exempt(settings, "192.0.2.5")
    assert not sip_guard.exempt(settings, "192.0.2.6")
    modules = (settings.host_path(settings.ast_etc) / "modules.conf").read_text()
    assert "load => res_pjsip_path.so" in modules


def _ext(number="7001"):
    tenant = SimpleNamespace(slug="acme")
    return SimpleNamespace(number=number, secret="s3cret-pw", tenant=tenant, tenant_id=1,
                           user_id=None, user=None, browser_phone=False)


def test_phones_support_path_and_behind_kamailio_keep_their_contact():
    direct = pjsip_sync.render_text([_ext()])
    proxied = pjsip_sync.render_text([_ext()], proxied=True)
    assert "rewrite_contact = yes" in direct and "rewrite_contact = no" not in direct
    assert "rewrite_contact = no" in proxied and "rewrite_contact = yes" not in proxied
    for text in (direct, proxied):
        aor = text.split("type = aor", 1)[1].split("\n\n", 1)[0]
        assert "support_path = yes" in aor
    assert "maximum_expiration = 60" in proxied and "maximum_expiration" not in direct


def test_channel_ids_of_two_nodes_differ_by_the_node_name(root_settings):
    asterisk.render(root_settings)
    conf = (root_settings.host_path(root_settings.ast_etc) / "asterisk.conf").read_text()
    assert "\nsystemname = t\n" in conf  # the instance's name without a node name
    if hasattr(root_settings, "node"):
        named = dataclasses.replace(root_settings, node="node-b")
        asterisk.render(named)
        conf = (named.host_path(named.ast_etc) / "asterisk.conf").read_text()
        assert "\nsystemname = node-b\n" in conf


PG = "postgresql://vox:s3cret@10.0.0.5:5432/voxcast?sslmode=require"


def test_tenants_have_homes_only_on_postgresql(settings):
    on_pg = dataclasses.replace(settings, database_url=PG)
    assert kamailio.homes_db_url(on_pg, environ={}) == "postgres://vox:s3cret@10.0.0.5:5432/voxcast"
    assert kamailio.homes_db_url(settings, environ={}) == ""  # SQLite: one node
    assert kamailio.homes_db_url(on_pg, environ={"VOXCAST_KAMAILIO_HOMES": "0"}) == ""
    ro = {"VOXCAST_KAMAILIO_DATABASE_URL": "postgres://kam:ro@127.0.0.1/voxcast"}
    assert kamailio.homes_db_url(on_pg, environ=ro) == "postgres://kam:ro@127.0.0.1/voxcast"
    with pytest.raises(kamailio.KamailioError):
        kamailio.homes_db_url(dataclasses.replace(settings, database_url="postgresql://a:b@c@h/d"),
                              environ={})


def _homes(on: bool) -> kamailio.KamailioSettings:
    return kamailio.KamailioSettings("127.0.0.1", 5080, 2, 2000,
                                     homes_db_url="postgres://vox:pw@127.0.0.1:5432/v" if on else "")


def test_without_homes_the_lookups_are_empty_and_no_database_module_is_loaded():
    kam = _homes(False)
    assert "loadmodule" not in kamailio.homes_modules(kam)
    assert kamailio.home_of_user(kam) == kamailio.home_of_did(kam) == "\treturn;"


def test_homes_look_up_the_tenant_of_an_extension_and_of_a_did_cached_for_a_minute():
    kam = _homes(True)
    modules = kamailio.homes_modules(kam)
    assert 'loadmodule "db_postgres.so"' in modules and 'loadmodule "sqlops.so"' in modules
    assert '"voxcast=>postgres://vox:pw@127.0.0.1:5432/v"' in modules
    assert "homes=>size=12;autoexpire=60;" in modules
    assert 'modparam("sqlops", "connect_mode", 1)' in modules  # starts without the database
    user = kamailio.home_of_user(kam)
    assert ("SELECT tenant_id FROM extension WHERE number = '$var(key)' "
            "AND tenant_id IS NOT NULL") in user
    did = kamailio.home_of_did(kam)
    assert "FROM did WHERE number IN ('$var(key)', '+$var(key)')" in did
    for body in (user, did):
        # only a key without quotes reaches the query; every answer is cached, "none" too
        assert body.index('$var(key) =~ "^[A-Za-z0-9_.+-]{1,64}$"') < body.index("sql_query")
        # a failed query is told by its code ($rc), and not cached
        assert "\t$var(rc) = $rc;\n\tif ($var(rc) < 0) {" in body
        failed = body.index("if ($var(rc) < 0) {")
        assert body.index("return;", failed) < body.index("$sht(homes=>", failed)
        assert '$var(home) = "t" + $dbr(home=>[0,0]);' in body
        assert body.rstrip().endswith("= $var(home);")


def test_rendered_config_with_homes_hashes_phones_and_dids_by_tenant(settings, monkeypatch):
    monkeypatch.setattr(kamailio, "modules_dir", lambda: "/usr/lib/x86_64-linux-gnu/kamailio/modules")
    monkeypatch.setenv("DATABASE_URL", PG)
    on_pg = dataclasses.replace(settings, database_url=PG)
    cfg = kamailio.render(on_pg, nodes=[kamailio.Node("a", "127.0.0.1", 16460)])
    text = cfg.read_text()
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"  # the database password
    register = text.split("route[REGISTER] {", 1)[1].split("\n}\n", 1)[0]
    assert "$var(key) = $tU;\n\troute(HOME_OF_USER);\n\t$avp(dshash) = $var(key);" in register
    assert '$(hdr(Expires){s.int}) > 60' in register and 'append_hf("Expires: 60\\r\\n")' in register
    main = text.split("request_route {", 1)[1].split("\n}\n", 1)[0]
    assert "$var(key) = $fU;\n\t\troute(HOME_OF_USER);" in main
    assert "route(HOME_OF_DID);" in main and "route(DISPATCH_PSTN);" in main
    assert "FROM did WHERE" in text and "FROM extension WHERE" in text


@pytest.mark.skipif(shutil.which("kamailio") is None or not any(
        os.path.exists(os.path.join(d, "db_postgres.so")) for d in kamailio.MODULES_DIRS),
        reason="kamailio and kamailio-postgres-modules are not installed (make test-deps)")
def test_rendered_config_with_homes_is_accepted_by_kamailio(settings, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", PG)
    cfg = kamailio.render(dataclasses.replace(settings, database_url=PG),
                          nodes=[kamailio.Node("a", "127.0.0.1", 16460)])
    kamailio.check(cfg)
