"""The press-1, survey and reminder settings as forms (templates/campaigns/_settings.html),
shared by the campaign form and the creation wizard.

Each type's fields carry a prefix (p1-, sv-, ar-) so the three forms live in one page and only
the chosen type's is read. The settings JSON stays beside them as the advanced view: when it
was edited (it differs from the JSON the page showed, posted back in `flow_shown`) it wins,
else the chosen type's form is compiled by voxcast.campaigns.settings_form."""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l

from models import Extension
from models.entities import Queue
from models.entities import Did
from models.tenancy import scoped
from voxcast.campaigns import flows_config, settings_form
from voxcast.ivr import services as flow_service

PREFIX = {"voice_interactive": "p1-", "voice_survey": "sv-", "appointment_reminder": "ar-"}
ACTIONS = (("", _l("— nothing —")), ("transfer", _l("Transfer the call")),
           ("opt_out", _l("Opt out (never call again)")), ("replay", _l("Play the message again")),
           ("hangup", _l("Hang up")))
TARGET_LABELS = (("extension", _l("An extension")), ("queue", _l("A queue")),
                 ("number", _l("A phone number")))
FIELD_LABELS = {"phone": _l("Phone number"), "first_name": _l("First name"),
                "last_name": _l("Last name"), "email": _l("E-mail"),
                **{f"custom{i}": _l("Custom field %(n)s", n=i) for i in range(1, 9)}}
SETTINGS_ACTIONS = ("add_question", "remove_question", "insert_field")


@dataclass
class SettingsView:
    """What templates/campaigns/_settings.html needs: each type's field values and errors,
    and the tenant's own transfer targets."""
    values: dict[str, dict]
    errors: dict[str, dict] = field(default_factory=dict)
    extensions: list = field(default_factory=list)
    queues: list = field(default_factory=list)
    numbers: list = field(default_factory=list)
    flow_shown: str = ""
    json_edited: bool = False
    actions = ACTIONS
    targets = TARGET_LABELS
    keys = settings_form.KEYS
    key_names = settings_form.KEY_NAMES
    fields = FIELD_LABELS
    prefix = PREFIX

    def v(self, kind: str, name: str) -> str:
        return str(self.values.get(kind, {}).get(name, ""))

    def e(self, kind: str, name: str) -> list[str]:
        return self.errors.get(kind, {}).get(name, [])

    def questions(self, kind: str = "voice_survey") -> list[dict]:
        return settings_form.questions(self.values.get(kind, {}))


def pickers(tenant_id: int) -> dict:
    """The tenant's own extensions, queues and numbers (never another tenant's)."""
    return {
        "extensions": [(e.number, e.number + (f" ({e.user.username})" if e.user_id else ""))
                       for e in scoped(Extension, tenant_id).order_by(Extension.number)],
        "queues": [(q.id, q.name + (f" ({q.number})" if q.number else ""))
                   for q in scoped(Queue, tenant_id).order_by(Queue.name)],
        "numbers": [d.number for d in scoped(Did, tenant_id).order_by(Did.number)],
    }


def values_from_flow(kind_now: str, flow: dict) -> dict[str, dict]:
    """Every form type's fields: the saved settings for the campaign's own type, defaults for
    the others."""
    return {kind: settings_form.to_form(kind, flow if kind == kind_now else None)
            for kind in settings_form.FORM_TYPES}


def values_from_post(form) -> dict[str, dict]:
    """Each type's fields as posted (prefix taken off)."""
    out: dict[str, dict] = {}
    for kind, prefix in PREFIX.items():
        out[kind] = {k[len(prefix):]: v for k, v in form.items() if k.startswith(prefix)}
    return out


def apply_action(values: dict[str, dict], form) -> bool:
    """The add / remove question and insert-field buttons (they change the form, not the
    campaign); True when one was pressed."""
    action = form.get("settings_action", "")
    for name in form.keys():
        if name.startswith("settings_action:"):  # the buttons: <input type=submit name=...>
            action = name.split(":", 1)[1]
            break
    if action == "add_question":
        values["voice_survey"] = settings_form.add_question(values.get("voice_survey", {}))
    elif action.startswith("remove_question:"):
        try:
            index = int(action.split(":", 1)[1])
        except ValueError:
            return True
        values["voice_survey"] = settings_form.remove_question(values.get("voice_survey", {}),
                                                               index)
    elif action.startswith("insert_field:"):
        target = action.split(":", 1)[1]
        values["appointment_reminder"] = settings_form.insert_field(
            values.get("appointment_reminder", {}), target,
            form.get(f"ar-field_for_{target}", ""))
    else:
        return False
    return True


def flow_text(kind: str, values: dict[str, dict], raw_json: str, shown: str) -> str:
    """The settings to save, as JSON text: the advanced JSON when it was edited, else the
    chosen type's form (types without a form have no settings)."""
    if json_edited(raw_json, shown):
        return (raw_json or "").strip()
    if kind in settings_form.FORM_TYPES:
        return json.dumps(settings_form.from_form(kind, values.get(kind, {})))
    return ""  # the other types have no settings: what the page showed was another type's


def json_edited(raw_json: str, shown: str) -> bool:
    """Whether the advanced JSON differs from what the page showed (whitespace and line
    ends aside)."""
    raw_json, shown = (raw_json or "").strip(), (shown or "").strip()
    try:
        return json.loads(raw_json or "{}") != json.loads(shown or "{}")
    except ValueError:
        return "".join(raw_json.split()) != "".join(shown.split())


def check(tenant_id: int, kind: str, flow: str) -> list[str]:
    """flows_config's messages, and the extension and queue checks, for these settings."""
    try:
        cfg = flows_config.validate(kind, flow)
    except flows_config.FlowError as exc:
        return list(exc.errors)
    errors: list[str] = []
    if kind in settings_form.FORM_TYPES:
        tree = flows_config.compile_tree(kind, cfg)
        for checker in (flow_service.check_extensions, flow_service.check_queues):
            try:
                checker(tenant_id, tree)
            except flow_service.FlowServiceError as exc:
                errors.extend(exc.errors)
    return errors


def errors_by_field(kind: str, messages: list[str]) -> dict[str, dict]:
    return {kind: settings_form.error_fields(kind, messages)} if messages else {}


def shown_json(kind: str, flow) -> str:
    """The advanced view's text for these settings."""
    try:
        cfg = flow if isinstance(flow, dict) else flows_config.parse(flow or "")
    except flows_config.FlowError:
        return str(flow or "")
    return json.dumps(cfg, indent=2) if cfg else ""


def view(tenant_id: int, values: dict[str, dict], errors: dict | None = None,
         flow_shown: str = "") -> SettingsView:
    return SettingsView(values=values, errors=errors or {}, flow_shown=flow_shown,
                        **pickers(tenant_id))
