"""IVRs and the type-specific settings of campaigns, shared by the web UI and the JSON API.

Everything is validated before anything is written (voxcast.ivr.tree / voxcast.campaigns.flows_config are the
pure checks; here come the checks that need the database: transfer extensions must be the
tenant's, an IVR must be the tenant's). Every change is audited in the same transaction."""
from __future__ import annotations

import io
import json

from peewee import JOIN, fn

from models import Campaign, CampaignContact, Contact, User, database
from models.entities import (
    CAMPAIGN_TYPES, Did, Extension, Ivr, IvrRecording, Prompt, Queue, SurveyAnswer,
)
from models.tenancy import get_scoped, scoped
from voxcast import csv_export
from voxcast.audit import records as audit
from voxcast.campaigns import flows_config
from voxcast.ivr import tree as ivr
from voxcast.errors import ServiceError


class FlowServiceError(ServiceError, ValueError):
    """A refused change; `errors` lists the reasons, each fit to show."""
    code, status = "invalid-flow", 422

    def __init__(self, errors: list[str] | str):
        errors = [errors] if isinstance(errors, str) else list(errors)
        super().__init__("; ".join(errors))
        self.errors = errors


def check_extensions(tenant_id: int, tree: dict) -> None:
    wanted = [n for n in flows_config.transfer_targets(tree) if n]
    if not wanted:
        return
    owned = {n for (n,) in scoped(Extension, tenant_id).select(Extension.number)
             .where(Extension.number.in_(wanted)).tuples()}
    missing = sorted(set(wanted) - owned)
    if missing:
        raise FlowServiceError([f"extension {n} is not one of your extensions" for n in missing])


def check_queues(tenant_id: int, tree: dict) -> None:
    """Transfers to a queue name one of the tenant's queues (again at call time)."""
    wanted = set(ivr.queue_targets(tree))
    if not wanted:
        return
    owned = {q for (q,) in scoped(Queue, tenant_id).select(Queue.id)
             .where(Queue.id.in_(list(wanted))).tuples()}
    missing = sorted(wanted - owned)
    if missing:
        raise FlowServiceError([f"queue {q} is not one of your queues" for q in missing])


def foreign_sounds(tenant_id: int | None, tree: dict) -> list[str]:
    """The sound names a tenant's tree plays that are not the tenant's own audio. All tenants
    share one sounds folder and names are guessable (campaign-<id>), so a name proves nothing:
    a tenant owns its campaigns' messages, its DIDs' greetings and its library's prompts, as the
    database records."""
    wanted = ivr.sound_names(tree)
    if not wanted or tenant_id is None:
        return sorted(wanted)
    owned = {n for (n,) in scoped(Campaign, tenant_id).select(Campaign.message_file)
             .where(Campaign.message_file.in_(wanted)).tuples()}
    owned |= {n for (n,) in scoped(Did, tenant_id).select(Did.greeting_file)
              .where(Did.greeting_file.in_(wanted)).tuples()}
    owned |= {n for (n,) in scoped(Prompt, tenant_id).select(Prompt.sound)  # the audio library
              .where(Prompt.sound.in_(wanted)).tuples()}
    return sorted(wanted - owned)


def check_sounds(tenant_id: int, tree: dict) -> None:
    foreign = foreign_sounds(tenant_id, tree)
    if foreign:
        raise FlowServiceError([f"sound '{n}' is not one of your sounds (name a prompt of your "
                                f"audio library or the message sound of one of your campaigns, "
                                f"or use 'text')" for n in foreign])


# -- IVRs ---------------------------------------------------------------------------------------

def parse_tree(tenant_id: int, raw) -> dict:
    try:
        tree = ivr.validate(raw)
    except ivr.IvrError as exc:
        raise FlowServiceError(exc.errors) from None
    check_extensions(tenant_id, tree)
    check_queues(tenant_id, tree)
    check_sounds(tenant_id, tree)
    return tree


def check_number(tenant_id: int, number: str, ivr_id: int | None) -> list[str]:
    """An IVR's number (dialled by the tenant's phones): short digits, not an emergency number,
    none of the tenant's extensions, queues or other IVRs."""
    from voxcast.queues.services import EMERGENCY, NUMBER_RE
    if not number:
        return []
    if not NUMBER_RE.match(number):
        return ["the number must be 2 to 6 digits, or empty for no number"]
    if number in EMERGENCY:
        return [f"{number} is an emergency or service number"]
    if scoped(Extension, tenant_id).where(Extension.number == number).exists():
        return [f"{number} is one of your extensions"]
    if scoped(Queue, tenant_id).where(Queue.number == number).exists():
        return [f"{number} is the number of one of your queues"]
    clash = scoped(Ivr, tenant_id).where(Ivr.number == number)
    if ivr_id is not None:
        clash = clash.where(Ivr.id != ivr_id)
    if clash.exists():
        return [f"another IVR has the number {number}"]
    return []


def save_ivr(tenant_id: int, name: str, raw_tree, *, row: Ivr | None = None, number=None,
             actor=None, ip: str = "") -> Ivr:
    """Create (row None) or change an IVR; nothing is saved when the tree is invalid. `number`
    (None: unchanged) is what the tenant's phones dial to reach it ("" for none)."""
    name = (name or "").strip()
    errors = []
    if not name or len(name) > 100:
        errors.append("the name must be 1 to 100 characters")
    if number is not None:
        number = number.strip()
        errors.extend(check_number(tenant_id, number, row.id if row is not None else None))
    try:
        tree = parse_tree(tenant_id, raw_tree)
    except FlowServiceError as exc:
        errors.extend(exc.errors)
        tree = None
    if errors:
        raise FlowServiceError(errors)
    clash = scoped(Ivr, tenant_id).where(fn.LOWER(Ivr.name) == name.lower())
    if row is not None:
        clash = clash.where(Ivr.id != row.id)
    if clash.exists():
        raise FlowServiceError(f"an IVR named '{name}' already exists")
    with database.atomic():
        if row is None:
            row = Ivr.create(tenant=tenant_id, name=name, tree=ivr.dumps(tree),
                             number=number or "")
            action = "ivr.create"
        else:
            row.name, row.tree = name, ivr.dumps(tree)
            if number is not None:
                row.number = number
            row.save(only=[Ivr.name, Ivr.tree, Ivr.number])
            action = "ivr.update"
        audit.record(action, tenant_id=tenant_id, user=actor, object_type="ivr", object_id=row.id,
                     detail=f"{name}: {len(tree['nodes'])} nodes", ip=ip)
    return row


def _name_errors(tenant_id: int, name: str, ivr_id: int | None) -> list[str]:
    name = (name or "").strip()
    if not name or len(name) > 100:
        return ["the name must be 1 to 100 characters"]
    clash = scoped(Ivr, tenant_id).where(fn.LOWER(Ivr.name) == name.lower())
    if ivr_id is not None:
        clash = clash.where(Ivr.id != ivr_id)
    return [f"an IVR named '{name}' already exists"] if clash.exists() else []


def check_draft(tenant_id: int, raw_tree, *, name: str | None = None, number: str | None = None,
                ivr_id: int | None = None) -> dict:
    """What save_ivr would refuse in a draft, sorted by where it belongs, for the IVR builder's
    live check: {"ok", "errors" (the whole tree), "nodes" {node id: [errors]}, "fields"
    {"name"|"number": [errors]}}. The checks are save_ivr's own (voxcast.ivr.tree.validate,
    then the tenant's extensions, queues and sounds, asked per node so each error lands on its
    node); nothing is written."""
    fields: dict[str, list[str]] = {}
    if name is not None:
        fields["name"] = _name_errors(tenant_id, name, ivr_id)
    if number is not None:
        fields["number"] = check_number(tenant_id, number.strip(), ivr_id)
    fields = {k: v for k, v in fields.items() if v}
    general: list[str] = []
    by_node: dict[str, list[str]] = {}
    try:
        tree = ivr.validate(raw_tree)
    except ivr.IvrError as exc:
        tree = raw_tree
        if isinstance(raw_tree, str):
            try:
                tree = json.loads(raw_tree)
            except ValueError:
                tree = {}
        general, by_node = ivr.locate(exc.errors, tree)
    nodes = tree.get("nodes") if isinstance(tree, dict) else None
    for node_id, node in (nodes.items() if isinstance(nodes, dict) else ()):
        if node_id in by_node or not isinstance(node, dict):
            continue  # the database is asked about nodes that are well-formed
        one = {"start": node_id, "nodes": {node_id: node}}
        for check in (check_extensions, check_queues, check_sounds):
            try:
                check(tenant_id, one)
            except FlowServiceError as exc:
                by_node.setdefault(node_id, []).extend(exc.errors)
    return {"ok": not (general or by_node or fields), "errors": general, "nodes": by_node,
            "fields": fields}


def copy_name(tenant_id: int, name: str) -> str:
    """ "<name> (copy)", or (copy 2), (copy 3)... : a name no IVR of the tenant has."""
    taken = {n.lower() for (n,) in scoped(Ivr, tenant_id).select(Ivr.name).tuples()}
    for n in range(1, 1000):
        suffix = " (copy)" if n == 1 else f" (copy {n})"
        candidate = name[:100 - len(suffix)] + suffix
        if candidate.lower() not in taken:
            return candidate
    raise FlowServiceError("too many copies of this IVR")


def duplicate_ivr(row: Ivr, *, actor=None, ip: str = "") -> Ivr:
    """A copy of the IVR under a new name, without its number (numbers are unique), checked
    and saved like any IVR."""
    return save_ivr(row.tenant_id, copy_name(row.tenant_id, row.name), row.tree, number="",
                    actor=actor, ip=ip)


def builder_choices(tenant_id: int) -> dict:
    """The tenant's own things an IVR may name, for the builder's pickers: prompts of its audio
    library, its extensions and queues, and the contact fields."""
    prompts = [{"id": p.id, "name": p.name, "sound": p.sound, "seconds": float(p.seconds)}
               for p in scoped(Prompt, tenant_id).order_by(Prompt.name, Prompt.id)]
    extensions = [{"number": number, "user": f"{first or ''} {last or ''}".strip() or login or ""}
                  for number, first, last, login in scoped(Extension, tenant_id)
                  .select(Extension.number, User.first_name, User.last_name, User.username)
                  .join(User, JOIN.LEFT_OUTER, on=(Extension.user == User.id))
                  .order_by(Extension.number).tuples()]
    queues = [{"id": q.id, "name": q.name, "number": q.number, "label": f"{q.name} ({q.id})"}
              for q in scoped(Queue, tenant_id).order_by(Queue.name, Queue.id)]
    return {"prompts": prompts, "extensions": extensions, "queues": queues,
            "fields": list(ivr.CONTACT_FIELDS), "settable": list(ivr.SETTABLE_FIELDS)}


def ivr_users(row: Ivr) -> list[str]:
    campaigns = [f"campaign '{c.name}'" for c in Campaign.select(Campaign.name)
                 .where(Campaign.ivr == row.id)]
    dids = [f"DID {d.number}" for d in Did.select(Did.number).where(
        (Did.ivr == row.id) | ((Did.closed_route == "ivr") & (Did.closed_target == row.id)))]
    return campaigns + dids


def delete_ivr(row: Ivr, *, actor=None, ip: str = "") -> None:
    users = ivr_users(row)
    if users:
        raise FlowServiceError(f"the IVR is used by {', '.join(users)}")
    with database.atomic():
        audit.record("ivr.delete", tenant_id=row.tenant_id, user=actor, object_type="ivr",
                     object_id=row.id, detail=row.name, ip=ip)
        row.delete_instance()


# -- campaign settings --------------------------------------------------------------------------

def apply_flow(campaign: Campaign, campaign_type: str, raw_flow, repeat_count: int = 1,
               ivr_id: int | None = None) -> list:
    """Check and set type, flow, repeat_count and ivr on an (unsaved) campaign; returns the
    fields changed. Raises FlowServiceError, leaving the campaign as it was."""
    errors: list[str] = []
    if campaign_type not in CAMPAIGN_TYPES:
        raise FlowServiceError(f"unknown campaign type '{campaign_type}'")
    try:
        cfg = flows_config.validate(campaign_type, raw_flow, repeat_count)
    except flows_config.FlowError as exc:
        errors.extend(exc.errors)
        cfg = None
    if campaign_type == "voice_ivr":
        if ivr_id is None:
            errors.append("choose the IVR this campaign runs")
        else:
            try:
                get_scoped(Ivr, campaign.tenant_id, ivr_id)
            except LookupError:
                errors.append("no such IVR")
    if cfg is not None and campaign_type not in ("voice_message", "voice_ivr", "voice_agent"):
        try:
            check_extensions(campaign.tenant_id, flows_config.compile_tree(campaign_type, cfg))
        except FlowServiceError as exc:
            errors.extend(exc.errors)
    if errors:
        raise FlowServiceError(errors)
    campaign.type = campaign_type
    campaign.flow = json.dumps(cfg) if cfg else ""
    campaign.repeat_count = repeat_count if campaign_type == "voice_message" else 1
    campaign.ivr = ivr_id if campaign_type == "voice_ivr" else None
    return [Campaign.type, Campaign.flow, Campaign.repeat_count, Campaign.ivr]


def flow_of(campaign: Campaign) -> dict:
    try:
        return flows_config.parse(campaign.flow)
    except flows_config.FlowError:
        return {}


# -- results ------------------------------------------------------------------------------------

def survey_results(campaign: Campaign) -> list[dict]:
    """Per question: its text, and the count per allowed digit (and in all)."""
    questions = flows_config.survey_questions(flow_of(campaign))
    counts: dict[tuple[str, str], int] = {}
    for question, digit, n in (scoped(SurveyAnswer, campaign.tenant_id)
                               .select(SurveyAnswer.question, SurveyAnswer.digit,
                                       fn.COUNT(SurveyAnswer.id))
                               .where(SurveyAnswer.campaign == campaign.id)
                               .group_by(SurveyAnswer.question, SurveyAnswer.digit).tuples()):
        counts[(question, digit)] = n
    out = []
    for q in questions:
        digits = [{"digit": d, "count": counts.get((q["key"], d), 0)} for d in q["digits"]]
        out.append({"key": q["key"], "text": q["text"], "digits": digits,
                    "total": sum(d["count"] for d in digits)})
    return out


def survey_csv(campaign: Campaign, zone=None) -> str:
    """One row per answer: phone, names, question, digit, time (formula-safe cells); the
    time in `zone` (the viewer's ZoneInfo) named in the header, else UTC."""
    buf = io.StringIO()
    writer = csv_export.writer(buf)
    writer.writerow(["phone", "first_name", "last_name", "question", "digit", "call_id",
                     csv_export.time_header("answered_at", zone)])
    rows = (scoped(SurveyAnswer, campaign.tenant_id)
            .select(SurveyAnswer, Contact).join(Contact, on=(SurveyAnswer.contact == Contact.id))
            .where(SurveyAnswer.campaign == campaign.id)
            .order_by(SurveyAnswer.id))
    for a in rows:
        writer.writerow([a.contact.phone, a.contact.first_name, a.contact.last_name, a.question,
                         a.digit, str(a.call_id or ""),
                         csv_export.local_time(a.created_at, zone)])
    return buf.getvalue()


def contact_outcomes(contact: Contact) -> list[dict]:
    """The campaigns a contact was in, with what came of it (for the contact page)."""
    rows = (scoped(CampaignContact, contact.tenant_id)
            .select(CampaignContact, Campaign).join(Campaign)
            .where(CampaignContact.contact == contact.id).order_by(CampaignContact.id.desc()))
    return [{"campaign": e.campaign.name, "campaign_id": e.campaign_id, "type": e.campaign.type,
             "state": e.state, "disposition": e.last_disposition, "result": e.result,
             "attempts": e.attempts} for e in rows]


def recordings(campaign: Campaign) -> list[IvrRecording]:
    return list(scoped(IvrRecording, campaign.tenant_id)
                .where(IvrRecording.campaign == campaign.id).order_by(IvrRecording.id.desc()))


