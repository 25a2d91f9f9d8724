"""Billing: rating calls against rate plans (rating), the money ledger with reservations and
free credit (ledger), rate plan CSV import (rate_import) and low-balance mail (notify)."""
