"""Imports every resource module so its routes land on the blueprint."""
from . import campaigns, contacts, dnc, numbers, tenants, users  # noqa: F401
from . import contact_centre  # noqa: F401  (queues, agents)
from . import supervision  # noqa: F401  (wallboard, live calls)
from . import evaluation  # noqa: F401  (evaluation forms, evaluations, summary)
from . import statistics  # noqa: F401  (agent, disposition, queue, campaign statistics; builder)
from . import cdrs  # noqa: F401  (CDRs, their recordings, the CDR summary)
from . import monitor  # noqa: F401  (listen / whisper / barge on an agent's call)
from . import messages  # noqa: F401  (message records: SMS, fax, e-mail)
from . import email_dnc  # noqa: F401  (the e-mail do-not-contact list)
from . import fax  # noqa: F401  (fax documents, received faxes' PDFs)
from . import smsc  # noqa: F401  (the provider's SMSC connections)
from . import webhooks  # noqa: F401  (signed event endpoints and their deliveries)
from . import frontapi  # noqa: F401  (ledger, balance, plans, quotas, features, timeslots, message audio)
