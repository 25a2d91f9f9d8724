"""Issue 15: packages and subscriptions, the provisioning API's idempotency keys, webhook
endpoints and their deliveries, single-sign-on tokens; included units on credit buckets."""
from __future__ import annotations

from ..entities import (CreditBucket, IdempotencyKey, LoginToken, Package, Subscription,
                        WebhookDelivery, WebhookEndpoint)

CREATES = [Package, Subscription, IdempotencyKey, WebhookEndpoint, WebhookDelivery, LoginToken]
ADDS = [(CreditBucket, "units"), (CreditBucket, "granted_units"), (CreditBucket, "source")]


def up(ops) -> None:
    for model in CREATES:
        ops.create_table(model)
    for model, name in ADDS:
        ops.add_column(model, name)
    before = {i.name for i in ops.db.get_indexes(CreditBucket._meta.table_name)}
    ops.db.create_tables([CreditBucket], safe=True)  # the index on source
    if "credit_bucket_source" not in before:
        ops.done.append("index credit_bucket_source")


def down(ops) -> None:
    ops.db.execute_sql('DROP INDEX IF EXISTS "credit_bucket_source"')
    for model, name in reversed(ADDS):
        ops.drop_column(model, name)
    for model in reversed(CREATES):
        ops.drop_table(model)
