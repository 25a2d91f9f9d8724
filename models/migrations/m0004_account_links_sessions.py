"""Accounts and sessions (security issue 10): User.pending_activation tells an account waiting
for its first password from one an administrator disabled, and LoginSession keeps one row per
browser login so logout ends it on the server.

Before this, both kinds of account were just inactive. An inactive account with an open link
counts as waiting for activation unless the tenant log shows it was disabled; such a disabled
account's link is voided here, as disabling does from now on."""
from __future__ import annotations

from ..entities import LoginSession, TenantLog, User

CREATES = [LoginSession]
ADDS = [(User, "pending_activation")]


def up(ops) -> None:
    for model in CREATES:
        ops.create_table(model)
    for model, name in ADDS:
        ops.add_column(model, name)
    disabled = {int(row.object_id) for row in TenantLog.select(TenantLog.object_id).where(
        TenantLog.action == "user.disable", TenantLog.object_type == "user")
        if row.object_id.isdigit()}
    waiting = User.select(User.id).where(User.active == False,  # noqa: E712
                                         User.activation_token.is_null(False))
    for row in list(waiting):
        if row.id in disabled:
            User.update(activation_token=None, activation_expires_at=None).where(
                User.id == row.id).execute()
        else:
            User.update(pending_activation=True).where(User.id == row.id).execute()


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    for model in reversed(CREATES):
        ops.drop_table(model)
