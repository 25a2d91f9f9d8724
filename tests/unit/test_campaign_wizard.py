"""Campaign settings as forms and the creation wizard (issue 17 item 2): the press-1, survey and
reminder forms produce exactly the settings JSON the API takes (round trip), the advanced JSON
wins when edited, problems show beside their field, pickers list the tenant's own objects,
and the wizard walks type -> contacts -> message -> dialling -> review with a review that
counts contacts, DNC numbers and the cost at the tenant's rates."""
from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest

from models import Campaign, DncNumber, Extension, Tenant
from models.entities import Queue, Rate, RatePlan
from voxcast.billing import plans
from voxcast.campaigns import flows_config, settings_form

from .api_support import master_api  # noqa: F401  (fixture)
from .conftest import CSRF_RE

SURVEY = {"intro": "Please answer.", "questions": [
    {"key": "q1", "text": "How satisfied are you? Press 1 to 5.", "digits": "12345"},
    {"key": "nps", "text": "Would you recommend us, {first_name}? 1 yes, 2 no.", "digits": "21"}],
    "retries": 1, "timeout": 4, "closing": "Thanks."}
PRESS1 = {"keys": {"1": "transfer", "2": "opt_out", "9": "replay", "#": "hangup"},
          "transfer": {"kind": "queue", "value": 7}, "timeout": 6, "no_input": "replay"}
REMINDER = {"text": "Hi {first_name}, see you on {custom1}.", "confirmed_text": "Done.",
            "transfer": {"kind": "number", "value": "+12025550123"}, "timeout": 5,
            "retries": 0}
CASES = [("voice_survey", SURVEY), ("voice_interactive", PRESS1),
         ("appointment_reminder", REMINDER),
         *((kind, flows_config.EXAMPLES[kind]) for kind in settings_form.FORM_TYPES),
         ("voice_survey", {"questions": [{"key": "q1", "text": "One?", "digits": "1"}]}),
         ("appointment_reminder", {"text": "Hello {last_name}."}),
         ("voice_interactive", {"keys": {"5": "opt_out"}})]


@pytest.mark.parametrize("kind, cfg", CASES)
def test_given_settings_when_shown_in_the_form_and_posted_back_then_the_json_is_the_same(kind, cfg):
    flows_config.validate(kind, json.dumps(cfg))
    again = settings_form.from_form(kind, settings_form.to_form(kind, cfg))
    assert again == settings_form.normalized(kind, cfg)
    assert flows_config.validate(kind, json.dumps(again)) == flows_config.validate(
        kind, json.dumps(settings_form.normalized(kind, cfg)))


def test_given_bad_survey_fields_then_each_message_lands_on_its_field():
    values = {"q-0-key": "q1", "q-0-text": "One?", "q-0-digits": "11",
              "q-1-key": "Bad Key", "q-1-text": "Two {nope}", "q-1-digits": "12",
              "timeout": "99"}
    cfg = settings_form.from_form("voice_survey", values)
    with pytest.raises(flows_config.FlowError) as exc:
        flows_config.validate("voice_survey", cfg)
    fields = settings_form.error_fields("voice_survey", exc.value.errors)
    assert set(fields) == {"q-0-digits", "q-1-key", "q-1-text", "timeout"}, fields


def test_given_question_rows_when_added_and_removed_then_rows_move_up():
    values = settings_form.to_form("voice_survey", SURVEY)
    values = settings_form.add_question(values)
    assert settings_form.question_count(values) == 3
    values = settings_form.remove_question(values, 0)
    assert [q["key"] for q in settings_form.questions(values)] == ["nps", "q3"]
    values = settings_form.insert_field({"text": "Hello"}, "text", "custom2")
    assert values["text"] == "Hello {custom2}"
    assert settings_form.insert_field({"text": "x"}, "text", "password") == {"text": "x"}


@pytest.fixture
def master(app):
    return Tenant.get(Tenant.slug == "master")


BASE = {"name": "Form survey", "channel_limit": "3", "dial_timeout": "30", "retry_busy": "0",
        "retry_noanswer": "0", "retry_failed": "0", "retry_interval": "300",
        "retry_machine": "0", "amd_action": "hangup", "repeat_count": "1", "ivr": "0",
        "caller_id": "", "message_text": ""}


def _survey_fields(cfg: dict) -> dict:
    return {f"sv-{k}": v for k, v in settings_form.to_form("voice_survey", cfg).items()}


def test_given_the_campaign_form_when_the_survey_form_is_posted_then_its_json_is_saved(
        auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    page = auth.client.get("/campaigns/new").get_data(as_text=True)
    assert 'name="sv-q-0-text"' in page and 'name="p1-key_1"' in page
    assert 'name="ar-field_for_text"' in page and "{custom8}" in page
    resp = auth.post("/campaigns/new", {**BASE, "group": str(group.id), "type": "voice_survey",
                                        "flow": "", "flow_shown": "", **_survey_fields(SURVEY)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    campaign = Campaign.get(Campaign.name == "Form survey")
    assert json.loads(campaign.flow) == settings_form.normalized("voice_survey", SURVEY)
    edit = auth.client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert 'value="nps"' in edit and "Would you recommend us" in edit


def test_given_the_advanced_json_edited_then_it_wins_over_the_form(auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    edited = {"questions": [{"key": "only", "text": "Typed as JSON?", "digits": "12"}]}
    resp = auth.post("/campaigns/new", {**BASE, "group": str(group.id), "type": "voice_survey",
                                        "flow": json.dumps(edited), "flow_shown": "",
                                        **_survey_fields(SURVEY)})
    assert resp.status_code == 302
    assert json.loads(Campaign.get(Campaign.name == "Form survey").flow) == edited


def test_given_bad_digits_in_the_form_then_the_error_shows_beside_that_field_and_nothing_is_saved(
        auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    fields = _survey_fields(SURVEY)
    fields["sv-q-1-digits"] = "11"
    resp = auth.post("/campaigns/new", {**BASE, "group": str(group.id), "type": "voice_survey",
                                        "flow": "", "flow_shown": "", **fields})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 400 and not Campaign.select().where(
        Campaign.name == "Form survey").exists()
    label = re.search(r'<label class="field" for="sv-q-1-digits">.*?</label>', body, re.S).group(0)
    assert "lists the allowed keys once each" in html.unescape(label)
    assert 'aria-invalid="true"' in label


def test_given_the_add_question_button_then_the_form_comes_back_with_one_more_row(
        auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    resp = auth.post("/campaigns/new", {**BASE, "group": str(group.id), "type": "voice_survey",
                                        "flow": "", "flow_shown": "", **_survey_fields(SURVEY),
                                        "settings_action:add_question": "Add a question"})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'name="sv-q-2-text"' in body
    assert not Campaign.select().where(Campaign.name == "Form survey").exists()


def test_given_another_tenants_extension_and_queue_then_the_pickers_do_not_list_them(
        auth, master, make_tenant):
    other, _u = make_tenant("other")
    Extension.create(tenant=other, number="7771234", secret="x")
    Queue.create(tenant=other, name="Other-secret-queue")
    Extension.create(tenant=master, number="7775678", secret="y")
    auth.login()
    page = auth.client.get("/campaigns/new").get_data(as_text=True)
    assert "7775678" in page and "7771234" not in page and "Other-secret-queue" not in page
    wizard = _Wizard(auth)
    wizard.step("/campaigns/wizard/", {"name": "W", "type": "voice_interactive"})
    wizard.step("/campaigns/wizard/contacts", {"group": "0"}, status=400)


class _Wizard:
    """Walks the wizard as a browser does: each answer posts the page's form, hidden state
    included."""

    def __init__(self, auth):
        self.auth = auth
        self.page = auth.client.get("/campaigns/wizard/").get_data(as_text=True)

    def state(self) -> str:
        return html.unescape(re.search(r'name="state" value="([^"]*)"', self.page).group(1))

    def step(self, url: str, fields: dict, status: int = 200) -> str:
        data = {"state": self.state(), "csrf_token": CSRF_RE.search(self.page).group(1),
                "go": "next", **fields}
        resp = self.auth.client.post(url, data=data)
        assert resp.status_code == status, resp.get_data(as_text=True)[:3000]
        if resp.status_code != 302:
            self.page = resp.get_data(as_text=True)
        return self.page if resp.status_code != 302 else resp.headers["Location"]


def test_given_the_wizard_when_walked_then_the_review_counts_and_the_survey_is_created(
        auth, master, make_group, make_tenant):
    plan = RatePlan.create(name="Wizard plan")
    Rate.create(plan=plan, prefix="1", per_minute=Decimal("0.60"), initial_s=60, increment_s=60)
    plans._cache.clear()  # rate tables are cached per plan id and version, across test databases
    Tenant.update(rate_plan=plan.id, balance=Decimal("1.00")).where(
        Tenant.id == master.id).execute()
    phones = [f"+1202555010{i}" for i in range(1, 6)]
    group = make_group(master, name="Wizard list", phones=phones)
    other, _u = make_tenant("other")
    foreign = make_group(other, name="Other-secret-list", phones=["+12025550199"])
    DncNumber.create(tenant=master, phone=phones[0], source="manual")
    DncNumber.create(tenant=None, phone=phones[1], source="manual")
    auth.login()
    w = _Wizard(auth)
    page = w.step("/campaigns/wizard/", {"name": "Wizard survey", "type": "voice_survey"})
    assert "Wizard list (5 contacts)" in page and "Other-secret-list" not in page
    w.step("/campaigns/wizard/contacts", {"group": str(foreign.id)}, status=400)
    page = w.step("/campaigns/wizard/contacts", {"group": str(group.id)})
    assert 'name="sv-q-0-text"' in page and 'name="message_text"' not in page
    fields = _survey_fields(SURVEY)
    fields["sv-q-0-digits"] = "9x"
    page = w.step("/campaigns/wizard/message", fields, status=400)
    assert "lists the allowed keys once each" in html.unescape(page)
    page = w.step("/campaigns/wizard/message", {**_survey_fields(SURVEY),
                                                "settings_action:add_question": "Add a question"})
    assert 'name="sv-q-2-text"' in page
    page = w.step("/campaigns/wizard/message", {**_survey_fields(SURVEY)})
    assert 'name="windows"' in page
    page = w.step("/campaigns/wizard/dialling", {
        "caller_id": "", "channel_limit": "2", "dial_timeout": "20", "retry_busy": "0",
        "retry_noanswer": "1", "retry_interval": "300", "windows": "Mon-Sun 00:00-23:59"})
    text = html.unescape(re.sub(r"<[^>]+>", " ", page))
    text = " ".join(text.split())
    assert "5 contacts in Wizard list" in text
    assert "1 on yours, 1 on the provider's" in text
    assert "Calling hours (UTC)" in text and "Mon-Sun 00:00-23:59" in text
    # 3 reachable numbers, each under a minute: 3 x 0.60
    assert "Estimated cost 1.80" in text, text
    assert "does not cover the estimate" in text
    location = w.step("/campaigns/wizard/review", {"go": "create"}, status=302)
    campaign = Campaign.get(Campaign.name == "Wizard survey")
    assert location.endswith(f"/campaigns/{campaign.id}")
    assert campaign.type == "voice_survey" and campaign.group_id == group.id
    assert campaign.channel_limit == 2 and campaign.dial_timeout == 20
    assert json.loads(campaign.flow) == settings_form.normalized("voice_survey", SURVEY)


def test_given_a_forged_state_then_the_wizard_starts_over(auth, master):
    auth.login()
    w = _Wizard(auth)
    token = CSRF_RE.search(w.page).group(1)
    resp = auth.client.post("/campaigns/wizard/review", data={
        "csrf_token": token, "state": "forged", "go": "create"})
    assert resp.status_code == 400  # back at the first step: no name, nothing created
    assert not Campaign.select().where(Campaign.name == "").exists()


def test_given_a_german_user_then_the_wizard_and_the_settings_forms_are_german(
        auth, make_tenant):
    from models import User
    _t, user = make_tenant("acme", role="tenant", username="greta", language="de")
    auth.login("greta", "pw-greta")
    page = auth.client.get("/campaigns/wizard/message?type=voice_survey").get_data(as_text=True)
    assert "Weiter" in page and "Frage hinzufügen" in page and "Erlaubte Tasten" in page
    page = auth.client.get("/campaigns/wizard/review?type=voice_survey").get_data(as_text=True)
    assert "Geschätzte Kosten" in page and "Verfügbares Guthaben" in page
    assert User.get_by_id(user.id).username == "greta"


def _press1_fields(cfg: dict) -> dict:
    return {f"p1-{k}": v for k, v in settings_form.to_form("voice_interactive", cfg).items()}


def test_given_a_press1_campaign_from_the_api_when_its_form_is_saved_unchanged_then_the_json_is_kept(
        auth, master, make_group, master_api):
    group = make_group(master, phones=["+12025550101"])
    queue = Queue.create(tenant=master, name="Sales", number="651")
    cfg = {**PRESS1, "transfer": {"kind": "queue", "value": queue.id}}
    made = master_api.post("/api/v1/campaigns", json={
        "name": "Press one", "group_id": group.id, "type": "voice_interactive",
        "message_text": "Press 1 for sales.", "flow": cfg})
    assert made.status_code == 201, made.json
    campaign = Campaign.get(Campaign.name == "Press one")
    auth.login()
    edit = auth.client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    assert f'<option value="{queue.id}" selected>Sales (651)</option>' in edit
    assert re.search(r'<select id="p1-key_hash" name="p1-key_hash">.*?<option value="hangup" '
                     r'selected>', edit, re.S)
    shown = html.unescape(re.search(r'name="flow_shown" value="([^"]*)"', edit).group(1))
    resp = auth.post(f"/campaigns/{campaign.id}/edit", {
        **BASE, "name": "Press one", "group": str(group.id), "type": "voice_interactive",
        "message_text": "Press 1 for sales.", "flow": shown, "flow_shown": shown,
        **_press1_fields(cfg)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert json.loads(Campaign.get_by_id(campaign.id).flow) == cfg
    assert master_api.get(f"/api/v1/campaigns/{campaign.id}").json["flow"] in (cfg, json.dumps(cfg))


def test_given_another_tenants_queue_posted_in_the_press1_form_then_it_is_refused_beside_the_picker(
        auth, master, make_group, make_tenant):
    other, _u = make_tenant("other")
    foreign = Queue.create(tenant=other, name="Other-secret-queue")
    group = make_group(master, phones=["+12025550101"])
    auth.login()
    cfg = {**PRESS1, "transfer": {"kind": "queue", "value": foreign.id}}
    resp = auth.post("/campaigns/new", {**BASE, "name": "Foreign queue", "group": str(group.id),
                                        "type": "voice_interactive", "message_text": "Hi",
                                        "flow": "", "flow_shown": "", **_press1_fields(cfg)})
    body = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 400
    label = re.search(r'<label class="field target-queue" for="p1-transfer_queue">.*?</label>',
                      body, re.S).group(0)
    assert f"queue {foreign.id} is not one of your queues" in label
    assert "Other-secret-queue" not in body
    assert not Campaign.select().where(Campaign.name == "Foreign queue").exists()


def test_given_a_signed_state_naming_another_tenants_list_then_the_review_shows_nothing_of_it(
        app, auth, master, make_group, make_tenant):
    from itsdangerous import URLSafeSerializer
    other, _u = make_tenant("other")
    foreign = make_group(other, name="Other-secret-list", phones=["+12025550199", "+12025550198"])
    token = URLSafeSerializer(app.secret_key, salt="campaign-wizard").dumps(
        {"type": "voice_survey", "name": "X", "group_id": foreign.id})
    auth.login()
    w = _Wizard(auth)
    resp = auth.client.post("/campaigns/wizard/dialling", data={
        "csrf_token": CSRF_RE.search(w.page).group(1), "state": token, "go": "review"})
    body = html.unescape(resp.get_data(as_text=True))
    assert resp.status_code == 200 and "No contact list chosen yet." in body
    assert "Other-secret-list" not in body and "5550199" not in body
    resp = auth.client.post("/campaigns/wizard/review", data={
        "csrf_token": CSRF_RE.search(w.page).group(1), "state": token, "go": "create"})
    assert resp.status_code == 400 and not Campaign.select().where(Campaign.name == "X").exists()


def test_given_create_and_start_on_the_review_then_the_campaign_is_running(
        auth, master, make_group):
    group = make_group(master, name="Start list", phones=["+12025550101"])
    auth.login()
    w = _Wizard(auth)
    w.step("/campaigns/wizard/", {"name": "Started survey", "type": "voice_survey"})
    w.step("/campaigns/wizard/contacts", {"group": str(group.id)})
    w.step("/campaigns/wizard/message", _survey_fields(SURVEY))
    w.step("/campaigns/wizard/dialling", {"channel_limit": "1", "dial_timeout": "30",
                                          "retry_busy": "0", "retry_noanswer": "0",
                                          "retry_interval": "300"})
    w.step("/campaigns/wizard/review", {"go": "create_start"}, status=302)
    campaign = Campaign.get(Campaign.name == "Started survey")
    assert campaign.status == "running"


def test_given_a_survey_switched_to_voice_message_in_its_form_then_the_old_json_is_dropped(
        auth, master, make_group):
    group = make_group(master, phones=["+12025550101"])
    campaign = Campaign.create(tenant=master, name="Switch", group=group, type="voice_survey",
                               flow=json.dumps(SURVEY))
    auth.login()
    edit = auth.client.get(f"/campaigns/{campaign.id}/edit").get_data(as_text=True)
    shown = html.unescape(re.search(r'name="flow_shown" value="([^"]*)"', edit).group(1))
    resp = auth.post(f"/campaigns/{campaign.id}/edit", {
        **BASE, "name": "Switch", "group": str(group.id), "type": "voice_message",
        "message_text": "Just a message.", "flow": shown.replace("\n", "\r\n"),
        "flow_shown": shown, **_survey_fields(SURVEY)})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    saved = Campaign.get_by_id(campaign.id)
    assert saved.type == "voice_message" and saved.flow == ""


def test_given_contacts_dnc_rates_and_hours_then_the_estimate_says_what_will_happen(db):
    import datetime as dt
    from models import Contact, ContactGroup, Timeslot
    from voxcast.campaigns import estimate
    tenant = Tenant.create(name="Est", slug="est", timezone="Europe/Berlin",
                           balance=Decimal("0.50"))
    plan = RatePlan.create(name="Est plan")
    Rate.create(plan=plan, prefix="1202", per_minute=Decimal("0.30"), initial_s=60,
                increment_s=60)
    plans._cache.clear()  # rate tables are cached per plan id and version, across test databases
    Tenant.update(rate_plan=plan.id).where(Tenant.id == tenant.id).execute()
    group = ContactGroup.create(tenant=tenant, name="L")
    for phone in ("+12025550101", "+12025550102", "+12025550103", "+4930123456"):
        Contact.create(tenant=tenant, group=group, phone=phone)
    DncNumber.create(tenant=tenant, phone="+12025550101", source="manual")
    Timeslot.create(tenant=tenant, name="Office", weekdays="01234", start_time="09:00",
                    end_time="17:00")
    cfg = {"questions": [{"key": "q1", "text": "One two three four five", "digits": "12"}]}
    saturday_noon_utc = dt.datetime(2026, 12, 5, 11, 0)
    review = estimate.review(tenant, {"type": "voice_survey", "group_id": group.id,
                                      "flow": json.dumps(cfg), "windows": ""},
                             now=saturday_noon_utc)
    assert (review.contacts, review.dnc_tenant, review.dnc_provider, review.to_reach) == (
        4, 1, 0, 3)
    assert review.no_rate == 1 and review.cost == Decimal("0.6000")  # 2 rated x 1 minute
    assert review.covered is False and review.available == Decimal("0.50")
    assert review.timezone == "Europe/Berlin" and review.timeslots == ["Office: Mon-Fri 09:00-17:00"]
    assert review.open_now is False
    # closed on a Saturday: the next opening is Monday 09:00 in the tenant's zone
    assert review.next_open.strftime("%Y-%m-%d %H:%M") == "2026-12-07 09:00"
    assert str(review.next_open.tzinfo) == "Europe/Berlin"
    other = Tenant.create(name="Other", slug="other-est")
    assert estimate.review(other, {"type": "voice_survey", "group_id": group.id,
                                   "flow": json.dumps(cfg)}).contacts == 0
