"""The agent state moves as SQL text made once per database (the ACD makes three per queue
call, on the writer thread, where peewee's query building was a third of the cost): one
compare-and-set UPDATE ... RETURNING (SQLite 3.35+ and PostgreSQL), the state log's close
and its next row. Column and table names come from the models (models.prepared), so the text
follows a renamed column; an UPDATE is made once per shape (the columns it sets, how many
expected states, with or without a version or due-time condition)."""
from __future__ import annotations

from models.entities import AgentSession, AgentStateLog
from models.prepared import col, insert, q

LOG_GIVEN = ("tenant", "session", "user", "state", "pause_reason", "call", "started_at")
RETURNS = (AgentSession.tenant, AgentSession.user, AgentSession.pause_reason, AgentSession.call)


class AgentStatements:
    def __init__(self, db):
        self.param = p = db.param
        s, log = AgentSession, AgentStateLog
        self._table = q(s._meta.table_name)
        self.close_log = (f"UPDATE {q(log._meta.table_name)} SET {col(log.ended_at)} = {p} "
                          f"WHERE {col(log.session)} = {p} AND {col(log.ended_at)} IS NULL")
        self.open_log = insert(log, p, LOG_GIVEN)
        self._moves: dict[tuple, str] = {}

    def move(self, columns: tuple[str, ...], expected: int, version: bool, due: bool) -> str:
        """UPDATE setting state, state_since, version + 1 and `columns` (parameters in that
        order), then WHERE id, ended_at IS NULL, state IN (`expected` parameters)
        [, version =][, wrapup_until <=], RETURNING tenant, user, pause reason, call."""
        key = (columns, expected, version, due)
        sql = self._moves.get(key)
        if sql is None:
            p, s = self.param, AgentSession
            sets = [f"{col(s.state)} = {p}", f"{col(s.state_since)} = {p}",
                    f"{col(s.version)} = {col(s.version)} + 1"]
            sets += [f"{col(s._meta.fields[name])} = {p}" for name in columns]
            where = [f"{col(s.id)} = {p}", f"{col(s.ended_at)} IS NULL",
                     f"{col(s.state)} IN (" + ", ".join([p] * expected) + ")"]
            if version:
                where.append(f"{col(s.version)} = {p}")
            if due:
                where.append(f"{col(s.wrapup_until)} <= {p}")
            sql = self._moves[key] = (
                f"UPDATE {self._table} SET " + ", ".join(sets) + " WHERE " + " AND ".join(where)
                + " RETURNING " + ", ".join(col(f) for f in RETURNS))
        return sql


_made: dict[tuple, AgentStatements] = {}


def statements(db=None) -> AgentStatements:
    """The statements for `db` (default: the database the models are bound to now)."""
    if db is None:
        from models.db import database
        db = database.obj
    key = (type(db), db.param)
    made = _made.get(key)
    if made is None:
        made = _made[key] = AgentStatements(db)
    return made
