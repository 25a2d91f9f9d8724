"""SMS campaign throughput: an SMS campaign of N contacts (100,000) through `voxcast messaging`
against the test SMSC on loopback (its own process), throttles off, against a bare loop of the
same SMPP library (smpplib's own Client, a reader thread for the responses and receipts)
submitting the same messages to the same SMSC with no database: the library's ceiling here.

Prints submits/s, receipts/s, the messaging process's CPU per message, checks that every
message ended in a final state in the database, and last `ratio: X.XX` = our submit rate over
the bare loop's.

    .venv/bin/python bench/sms_throughput.py [--contacts 100000] [--keep DIR]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import models  # noqa: E402
from benchlib import cpu_seconds  # noqa: E402
from models import Campaign, CampaignContact, Contact, ContactGroup, Tenant, database  # noqa: E402
from models.entities import Message, RatePlan, SmscConnection  # noqa: E402
from peewee import fn  # noqa: E402
from voxcast.billing import ledger  # noqa: E402
from voxcast.campaigns import lifecycle  # noqa: E402

OFFSET = int(os.environ.get("VOXCAST_PORT_OFFSET", "0"))
PORT = 2775 + OFFSET + 50  # not the tests' SMSC port
TEXT = "Hello {first_name}, your appointment is tomorrow at 10:00. Reply STOP to opt out."
FINAL = ("delivered", "undelivered", "expired", "rejected", "failed")


def start_smsc(stats: Path, log: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-m", "tests.smsc.server", "--port", str(PORT),
                             "--stats", str(stats), "--fast"], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=open(log, "ab"), text=True)
    assert proc.stdout.readline().strip() == "ready", "the SMSC did not start"
    return proc


def stop_smsc(proc: subprocess.Popen, stats: Path) -> dict:
    proc.terminate()
    proc.wait(30)
    return json.loads(stats.read_text())


def setup(url: str, n: int) -> Campaign:
    models.init_database(url)
    models.bootstrap(admin_password="bench-admin-1", master_password="bench-master-1")
    plan = RatePlan.create(name="bench-sms", sms_price=Decimal("0.01"))
    tenant = Tenant.create(name="SMS bench", slug="smsbench", country="DE", rate_plan=plan,
                           sms_per_second=0, max_contacts=10 * n)
    ledger.credit(tenant.id, Decimal(n), reference="bench credit")
    SmscConnection.create(name="bench", host="127.0.0.1", port=PORT, system_id="voxcast",
                          password="secret", source_addr="Voxcast", throughput=0, is_default=True)
    group = ContactGroup.create(tenant=tenant, name="bench")
    with database.atomic():
        rows = [(tenant.id, group.id, f"+49151{i:08d}", f"Ann{i % 97}") for i in range(n)]
        for start in range(0, n, 5000):
            Contact.insert_many(rows[start:start + 5000], fields=[
                Contact.tenant, Contact.group, Contact.phone, Contact.first_name]).execute()
    campaign = Campaign.create(tenant=tenant, name="bench", type="sms", group=group,
                               sms_text=TEXT)
    with database.atomic():
        ids = list(Contact.select(Contact.id, Contact.phone).where(Contact.group == group.id).tuples())
        entries = [(tenant.id, campaign.id, cid, phone) for cid, phone in ids]
        for start in range(0, n, 5000):
            CampaignContact.insert_many(entries[start:start + 5000], fields=[
                CampaignContact.tenant, CampaignContact.campaign, CampaignContact.contact,
                CampaignContact.phone]).execute()
        lifecycle.mark_running(Campaign.get_by_id(campaign.id))
    database.close()
    return campaign


def ours(url: str, n: int, workdir: Path) -> dict:
    campaign = setup(url, n)
    stats_file = workdir / "smsc-ours.json"
    smsc = start_smsc(stats_file, workdir / "smsc.log")
    log = open(workdir / "messaging.log", "wb")
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "voxcast.cli", "messaging"], cwd=ROOT,
                            env={**os.environ, "DATABASE_URL": url, "PYTHONPATH": str(ROOT)},
                            stdout=log, stderr=subprocess.STDOUT)
    submitted_at = final_at = None
    try:
        while True:
            time.sleep(0.5)
            counts = dict(Message.select(Message.state, fn.COUNT(1))
                          .where(Message.campaign == campaign.id).group_by(Message.state).tuples())
            database.close()
            done = sum(v for k, v in counts.items() if k in FINAL)
            out = done + counts.get("submitted", 0)
            if submitted_at is None and out >= n:
                submitted_at = time.monotonic()
            if done >= n:
                final_at = time.monotonic()
                break
            if proc.poll() is not None:
                raise SystemExit(f"voxcast messaging exited; see {workdir / 'messaging.log'}")
            if time.monotonic() - t0 > 3600:
                raise SystemExit(f"not done after an hour: {counts}")
        cpu = cpu_seconds(proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
    smsc_stats = stop_smsc(smsc, stats_file)
    states = dict(Message.select(Message.state, fn.COUNT(1))
                  .where(Message.campaign == campaign.id).group_by(Message.state).tuples())
    entries = dict(CampaignContact.select(CampaignContact.state, fn.COUNT(1))
                   .where(CampaignContact.campaign == campaign.id)
                   .group_by(CampaignContact.state).tuples())
    submit_s = smsc_stats["last"] - smsc_stats["first"]
    return {"smsc": smsc_stats, "states": states, "entries": entries, "cpu": cpu,
            "submit_rate": smsc_stats["accepted"] / submit_s if submit_s else 0,
            "receipt_rate": n / (final_at - t0), "wall_submitted": submitted_at - t0,
            "wall_final": final_at - t0}


def bare(n: int, workdir: Path) -> dict:
    """smpplib's Client alone: bind, submit_sm in a loop, a thread reading the responses and
    answering the receipts; no database."""
    import smpplib.client
    import smpplib.consts

    from voxcast.messaging.sms import segments, templates

    stats_file = workdir / "smsc-bare.json"
    smsc = start_smsc(stats_file, workdir / "smsc.log")
    client = smpplib.client.Client("127.0.0.1", PORT, allow_unknown_opt_params=True, timeout=30)
    answered = [0]
    done = threading.Event()

    def on_sent(pdu, **kw):
        answered[0] += 1
        if answered[0] >= n:
            done.set()
    client.set_message_sent_handler(on_sent)
    client.set_message_received_handler(lambda pdu, **kw: None)
    client.connect()
    client.bind_transceiver(system_id="voxcast", password="secret")
    reader = threading.Thread(target=lambda: _listen(client, done), daemon=True)
    reader.start()
    t0 = time.monotonic()
    for i in range(n):
        text = templates.render(TEXT, {"first_name": f"Ann{i % 97}"})
        seg = segments.segments(text, 0)[0]
        client.send_message(source_addr_ton=5, source_addr_npi=0, source_addr="Voxcast",
                            dest_addr_ton=1, dest_addr_npi=1,
                            destination_addr=f"49151{i:08d}", esm_class=seg.esm_class,
                            data_coding=seg.data_coding, short_message=seg.payload,
                            registered_delivery=1)
    done.wait(600)
    elapsed = time.monotonic() - t0
    try:
        client.disconnect()
    except Exception:
        pass
    smsc_stats = stop_smsc(smsc, stats_file)
    return {"smsc": smsc_stats, "rate": n / elapsed, "elapsed": elapsed}


def _listen(client, done) -> None:
    try:
        while not done.is_set():
            client.read_once()
    except Exception:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--keep", default="")
    args = parser.parse_args()
    workdir = Path(args.keep or tempfile.mkdtemp(prefix="sms-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    n = args.contacts
    url = f"sqlite:///{workdir}/sms-bench.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{workdir}/sms-bench.db{suffix}").unlink(missing_ok=True)

    base = bare(n, workdir)
    print(f"bare smpplib loop: {n} submits in {base['elapsed']:.1f} s = {base['rate']:.0f} submits/s "
          f"(SMSC accepted {base['smsc']['accepted']})")
    res = ours(url, n, workdir)
    smsc = res["smsc"]
    print(f"voxcast messaging: {smsc['accepted']} submits accepted by the SMSC "
          f"({smsc['submits']} submit_sm, {smsc['destinations']} distinct numbers) "
          f"at {res['submit_rate']:.0f} submits/s; all submitted after {res['wall_submitted']:.1f} s")
    print(f"receipts: {smsc['receipts']} sent, every message final after {res['wall_final']:.1f} s "
          f"= {res['receipt_rate']:.0f} messages/s end to end")
    print(f"app CPU: {res['cpu']:.1f} s = {1e6 * res['cpu'] / n:.0f} us per message")
    print(f"message states: {res['states']}; contact states: {res['entries']}")
    final = sum(v for k, v in res["states"].items() if k in FINAL)
    ok = final == n and smsc["accepted"] == n and smsc["destinations"] == n
    print(f"every message final in the database, each sent once: {'yes' if ok else 'NO'}")
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"ratio: {res['submit_rate'] / base['rate']:.2f}")


if __name__ == "__main__":
    main()
