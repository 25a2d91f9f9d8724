"""Voice Survey and Appointment Reminder campaigns through the real Asterisk, the contacts
(sipp UAS) answering by RFC 4733 events and by SIP INFO."""
from __future__ import annotations

import json

from models import Campaign, CampaignContact, Contact
from models.entities import SurveyAnswer
from voxcast.ivr import services as flow_service
from voxcast.campaigns import services as campaign_service

from .conftest import wait_for
from .dtmf import uas
from .factories import make_group, reload, unique_phones


def _campaign(master, phones, type_, flow, **contact_fields):
    group = make_group(master, phones)
    if contact_fields:
        Contact.update(**contact_fields).where(Contact.group == group).execute()
    return Campaign.create(tenant=master, name=f"{type_}-{phones[0]}", group=group, type=type_,
                           flow=json.dumps(flow), dial_timeout=5, retry_noanswer=0, retry_busy=0)


def _run(campaign, settings, contact):
    try:
        campaign_service.start(campaign, settings)
        wait_for(lambda: reload(campaign).status == "completed", 40, message="campaign completed")
        assert contact.wait(15) == 0, contact.diagnostics()
    finally:
        contact.stop()


SURVEY = {"questions": [{"key": "q1", "text": "Question one. Press 1 or 2.", "digits": "12"},
                        {"key": "q2", "text": "Question two. Press 1, 2 or 3.", "digits": "123"}],
          "retries": 2, "timeout": 3, "closing": "Thank you."}


def test_given_survey_when_contact_answers_by_rfc4733_then_answers_are_stored_per_question(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = _campaign(master, phones, "voice_survey", SURVEY)
    # 9 is not allowed for q1: the question is asked again; then 2 for q1 and 3 for q2.
    contact = uas(workdir, settings.trunk_port, "survey", [(1.0, "9"), (2.2, "2"), (3.4, "3")])
    _run(campaign, settings, contact)

    answers = [(a.question, a.digit) for a in SurveyAnswer.select()
               .where(SurveyAnswer.campaign == campaign).order_by(SurveyAnswer.id)]
    assert answers == [("q1", "2"), ("q2", "3")]
    a = SurveyAnswer.get(SurveyAnswer.campaign == campaign)
    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert a.call_id is not None and a.contact_id == entry.contact_id and a.tenant_id == master.id
    assert entry.result == "surveyed"
    results = flow_service.survey_results(reload(campaign))
    assert [(q["key"], [(d["digit"], d["count"]) for d in q["digits"]]) for q in results] == [
        ("q1", [("1", 0), ("2", 1)]), ("q2", [("1", 0), ("2", 0), ("3", 1)])]
    assert f"{phones[0]},Contact0,,q1,2," in flow_service.survey_csv(reload(campaign))


REMINDER = {"text": "Hello {first_name}. Your appointment is on {custom1} at {custom2}. "
                    "Press 1 to confirm or 2 to cancel.", "timeout": 3, "retries": 0}


def test_given_reminder_when_contact_presses_1_by_sip_info_then_it_is_confirmed(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = _campaign(master, phones, "appointment_reminder", REMINDER,
                         custom1="Monday", custom2="ten o'clock")
    contact = uas(workdir, settings.trunk_port, "confirm", [(1.5, "1")], mode="info")
    _run(campaign, settings, contact)
    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert entry.result == "confirmed"
    assert campaign_service.progress(reload(campaign))["confirmed"] == 1


def test_given_reminder_when_contact_presses_2_by_rfc4733_then_it_is_cancelled(
        stasis_app, settings, master, workdir):
    phones = unique_phones(1)
    campaign = _campaign(master, phones, "appointment_reminder", REMINDER,
                         custom1="Tuesday", custom2="noon")
    contact = uas(workdir, settings.trunk_port, "cancel", [(1.5, "2")])
    _run(campaign, settings, contact)
    entry = CampaignContact.get(CampaignContact.campaign == campaign)
    assert entry.result == "cancelled"
    assert campaign_service.progress(reload(campaign))["cancelled"] == 1
