"""Set for every test process and the processes they start (web, Stasis app, FastAGI)."""
from __future__ import annotations

import os

# A cheap password hash for the suites' users (voxcast.accounts.passwords): scrypt's cost on
# every bootstrap and login was most of the unit tests' time. Production keeps scrypt.
os.environ.setdefault("VOXCAST_PASSWORD_HASH", "pbkdf2:sha256:1000")
