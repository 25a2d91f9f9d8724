"""Bare section URLs: a path that only prefixes pages (/admin/, /fax, /admin/billing/...) leads
to that section's first page instead of answering 404. A prefix whose page exists is Flask's
(strict slashes redirect /campaigns to /campaigns/); tests/unit/test_sections.py finds every
prefix in the url_map, so a new section without its entry here fails there."""
from __future__ import annotations

from flask import Blueprint, redirect, url_for

bp = Blueprint("sections", __name__)

# the section's path (without the trailing slash) -> the endpoint of its first page
SECTIONS = {
    "/admin": "admin.tenants",
    "/admin/billing": "admin_billing.plan_list",
    "/admin/billing/rates": "admin_billing.plan_list",
    "/admin/billing/tenants": "admin.tenants",
    "/agent/call": "agent_console.index",
    "/contacts/groups": "contacts.index",
    "/evaluation/calls": "cdrs.index",  # a call is scored from its call record
    "/evaluation/evaluations": "evaluation.index",
    "/fax": "fax_documents.index",
    "/sms": "inbound_sms.index",
    "/supervisor/agents": "supervisor.wallboard",
    "/supervisor/monitor": "supervisor.wallboard",
}


def _to(endpoint: str):
    def view():
        return redirect(url_for(endpoint))
    return view


for _path, _endpoint in SECTIONS.items():
    bp.add_url_rule(f"{_path}/", f"to_{_path.strip('/').replace('/', '_')}", _to(_endpoint),
                    methods=["GET"])
