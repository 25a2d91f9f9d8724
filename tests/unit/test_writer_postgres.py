"""The Stasis app's writer when PostgreSQL ends its connection (a server restart, an
administrator's pg_terminate_backend, a network cut): the work queued then is done on a new
connection once one answers, nothing is lost, and an ordinary failing job still fails alone.
Before this, peewee kept handing the writer the dead connection and every later job failed
("connection already closed") until the app was restarted. The server is not restarted here
(other suites share it): the writer's own backend is terminated, which is what a restart
does to each session."""
from __future__ import annotations

import asyncio
import logging
import subprocess

import pytest

import models
from ari_app.writer import Writer
from models import SystemStatus, database
from tests.pg_support import pg_fixtures

pg_url, db = pg_fixtures("voxcast_h_writer_pg")


def _backend_pid() -> int:
    return database.execute_sql("SELECT pg_backend_pid()").fetchone()[0]


def _terminate(pid: int) -> None:
    out = subprocess.run(["su", "postgres", "-c",
                          f"psql -tAc 'SELECT pg_terminate_backend({int(pid)})'"],
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "t", out


def _note(key: str) -> None:
    SystemStatus.create(key=key, value="x")


def _boom():
    raise ValueError("bad input")


@pytest.fixture
def writer(db):
    w = Writer()
    yield w
    w.close()
    database.close()


def test_given_the_server_ended_the_writers_connection_then_queued_work_runs_on_a_new_one(
        writer, caplog):
    async def go():
        first = await writer.run(_backend_pid)
        _terminate(first)
        writer.post(_note, "posted-after")  # nobody waits for it: it must not be lost
        second = await writer.run(_backend_pid)
        third = await writer.run(_backend_pid)
        failed = await asyncio.gather(writer.run(_boom), return_exceptions=True)
        return first, second, third, failed[0]

    with caplog.at_level(logging.WARNING, logger="voxcast.writer"):
        first, second, third, failed = asyncio.run(go())
    assert second != first and third == second  # one new connection, then kept
    assert isinstance(failed, ValueError)  # a failing job is not mistaken for an outage
    assert SystemStatus.select().where(SystemStatus.key == "posted-after").count() == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("database connection lost") for m in messages), messages
    assert any(m.startswith("database connection back") for m in messages), messages


def test_given_the_connection_dies_mid_batch_then_the_batch_runs_once_on_the_new_one(writer):
    """The connection is ended while a batch's transaction is open (the job after the
    termination finds it dead): the batch is rolled back by the server and run again whole,
    so each of its writes is there exactly once."""
    async def go():
        pid = await writer.run(_backend_pid)
        gate = asyncio.Event()
        loop = asyncio.get_running_loop()

        runs = []

        def kill_then_write():
            runs.append(1)
            _note("in-batch-1")
            if len(runs) == 1:
                _terminate(pid)  # the open transaction dies with its session
            _note("in-batch-2")

        writer.post(kill_then_write)
        writer.post(loop.call_soon_threadsafe, gate.set)
        await asyncio.wait_for(gate.wait(), 30)
        keys = await writer.run(lambda: sorted(
            k for (k,) in SystemStatus.select(SystemStatus.key).tuples()))
        return keys, len(runs)

    keys, runs = asyncio.run(go())
    assert runs == 2  # the batch ran again after the connection came back
    assert keys.count("in-batch-1") == 1 and keys.count("in-batch-2") == 1, keys


def test_writer_on_sqlite_is_untouched_by_the_outage_rule(tmp_path):
    """SQLite has no server to lose: an OperationalError (here a missing table) fails the
    job at once instead of being waited out."""
    models.init_database(f"sqlite:///{tmp_path / 'w.sqlite3'}")
    w = Writer()
    try:
        async def go():
            return await asyncio.gather(w.run(lambda: SystemStatus.select().count()),
                                        return_exceptions=True)
        (result,) = asyncio.run(asyncio.wait_for(go(), 10))
        assert "no such table" in str(result)
    finally:
        w.close()
        database.close()
