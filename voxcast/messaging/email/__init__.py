"""E-mail campaigns: templates in Jinja2's sandbox, the message built for SMTP, one-click
unsubscribe tokens and VERP bounce addresses, bounces, and the tenant's e-mail DNC list.
The sender itself is messaging_app/email_sender.py."""
from .templates import validate_templates  # noqa: F401  (the campaign form and API call it)
