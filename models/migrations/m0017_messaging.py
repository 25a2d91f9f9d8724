"""Issue 14: SMS, fax and e-mail campaigns. SMSC connections, fax documents, the message
records (the counterpart of CDRs) with their SMS parts, the e-mail DNC list; the campaign's
message fields, inbound-fax settings on DIDs and the tenant's opt-out words and rates."""
from __future__ import annotations

from .. import rollups
from ..entities import Campaign, Did, EmailDnc, FaxDocument, Message, MessagePart, SmscConnection, Tenant

CREATES = [SmscConnection, FaxDocument, Message, MessagePart, EmailDnc]
ADDS = [(Tenant, "sms_opt_out_words"), (Tenant, "sms_per_second"), (Tenant, "email_per_hour"),
        (Campaign, "sms_text"), (Campaign, "sms_sender"), (Campaign, "smsc"),
        (Campaign, "email_subject"), (Campaign, "email_html"), (Campaign, "email_text"),
        (Campaign, "email_from"), (Campaign, "bounce_address"), (Campaign, "fax_document"),
        (Did, "fax_detect"), (Did, "fax_emails")]


def up(ops) -> None:
    # SQLite rebuilds tenant and campaign to make the new columns NOT NULL; the rollup
    # triggers (installed by m0008 when this upgrade ran it too) would trip on the rename.
    # after_schema of m0008 puts them back.
    rollups.drop_triggers(ops.db)
    for model in CREATES:
        ops.create_table(model)
    for model, name in ADDS:
        ops.add_column(model, name)


def down(ops) -> None:
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    for model in reversed(CREATES):
        ops.drop_table(model)
