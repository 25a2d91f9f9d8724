"""Low-balance e-mail: one message when a tenant's balance falls below its threshold.

The flag Tenant.low_balance_notified is claimed with a conditional UPDATE before sending, so
concurrent charges send one mail, not one each; it is cleared once the balance is back at or
above the threshold (a payment), which arms the warning again. A failed send clears the
flag, so the next charge tries again."""
from __future__ import annotations

import threading

import logging
from decimal import Decimal

from models import Tenant, User, database, txn
from voxcast import mailer

log = logging.getLogger("voxcast.billing")


def recipients(tenant: Tenant) -> list[str]:
    """The tenant's billing address, else its admins' addresses."""
    if tenant.email:
        return [tenant.email]
    admins = User.select(User.email).where(User.tenant == tenant.id, User.role == "tenant",
                                          User.email != "")
    return [u.email for u in admins]


def message(tenant: Tenant) -> tuple[str, str]:
    subject = f"Low balance: {tenant.name}"
    body = (f"Hello,\n\nthe balance of {tenant.name} is {tenant.balance:.2f}, below the "
            f"warning threshold of {tenant.low_balance_threshold:.2f} you set.\n\n"
            "Calls, messages and campaigns stop when the credit runs out. Please contact "
            "your service provider to top up your account.\n")
    return subject, body


def needs_check(balance, threshold, notified) -> bool:
    """Would check_low_balance do anything for a tenant with these values (send the mail, or
    re-arm it)? Lets a caller that has them read skip the check's own read of the tenant."""
    below = Decimal(threshold or 0) > 0 and Decimal(balance) < Decimal(threshold or 0)
    return bool(notified) != below


def set_threshold(tenant: Tenant, raw, *, actor=None, ip: str = "") -> Decimal:
    """The tenant's low-balance warning level; warns at once when already below it.
    Raises BillingError (a template the UI translates) for a bad or negative amount."""
    from voxcast.audit import records as audit
    from voxcast.billing import ledger
    from voxcast.i18n import N_
    value = ledger.money(raw, N_("The threshold"))
    if value < 0:
        raise ledger.BillingError(N_("The threshold cannot be negative."))
    with database.atomic():
        Tenant.update(low_balance_threshold=value, low_balance_notified=False).where(
            Tenant.id == tenant.id).execute()
        audit.record("billing.threshold", tenant_id=tenant.id, user=actor, object_type="tenant",
                     object_id=tenant.id, detail=f"low_balance_threshold={value}", ip=ip)
    check_low_balance(tenant.id)
    return value


def check_low_balance(tenant_id: int, settings: mailer.MailSettings | None = None) -> bool:
    """Send the low-balance mail if the balance just went below the threshold; True when a
    mail was sent. Called after charges (and credits, to re-arm)."""
    tenant = Tenant.get_or_none(Tenant.id == tenant_id)
    if tenant is None:
        return False
    threshold = Decimal(tenant.low_balance_threshold or 0)
    if threshold <= 0 or Decimal(tenant.balance) >= threshold:
        if tenant.low_balance_notified:
            Tenant.update(low_balance_notified=False).where(Tenant.id == tenant.id).execute()
        return False
    if tenant.low_balance_notified:
        return False
    with database.atomic():
        claimed = (Tenant.update(low_balance_notified=True)
                   .where(Tenant.id == tenant.id, Tenant.low_balance_notified == False)  # noqa: E712
                   .execute())
        if claimed:  # once per fall below the threshold, like the mail
            from voxcast.webhooks import events
            events.emit("balance.low", tenant.id, {
                "tenant_id": tenant.id, "balance": f"{Decimal(tenant.balance):.4f}",
                "threshold": f"{threshold:.4f}"})
    if not claimed:
        return False
    to = recipients(tenant)
    if not to:
        log.warning("tenant %s is below its low-balance threshold but has no e-mail address",
                    tenant.name)
        return False
    subject, body = message(tenant)
    # Sent from its own thread: this runs inside the transaction that closes a CDR (on the
    # Stasis app's writer thread), and a slow mail server must not hold every write up.
    # Started once the transaction commits: the writer re-runs a rolled-back batch, and a
    # mail cannot be taken back.
    mail = threading.Thread(target=_send, name="low-balance-mail", daemon=True,
                            args=(tenant.id, settings or mailer.MailSettings.from_env(),
                                  ", ".join(to), subject, body))
    txn.after_commit(mail.start)
    return True


def _send(tenant_id: int, settings, to: str, subject: str, body: str) -> None:
    try:
        mailer.send(settings, to, subject, body)
    except mailer.MailError as exc:  # re-arm, so the next charge tries again
        log.warning("low-balance mail for tenant %s failed: %s", tenant_id, exc)
        with database.connection_context():
            Tenant.update(low_balance_notified=False).where(Tenant.id == tenant_id).execute()
