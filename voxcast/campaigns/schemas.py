"""Campaigns: the input schemas (what the services take; the API validates and publishes them)."""
from __future__ import annotations

from voxcast.schemas import EMAIL, ID, NULLABLE_ID, obj

CAMPAIGN_TYPES = ["voice_message", "voice_interactive", "voice_ivr", "voice_survey",
                  "appointment_reminder", "voice_agent", "sms", "fax", "email"]
# An SMS source address: up to 11 letters, digits and spaces (alphanumeric sender), or a
# number of up to 16 digits with an optional +. Empty: the SMSC connection's source_addr.
SMS_SENDER_PATTERN = r"^(\+?[0-9]{1,16}|[A-Za-z0-9][A-Za-z0-9 ]{0,10})?$"
SMS_TEXT_MAX = 1600  # 10 GSM-7 segments; longer texts are refused as the carriers do
MESSAGE_FIELDS = {
    "sms_text": {"type": "string", "maxLength": SMS_TEXT_MAX, "description": (
        "sms: the text, a template with {first_name}, {last_name}, {email}, {phone}, "
        "{custom1} .. {custom8}; each segment (GSM-7 160 / 153, UCS-2 70 / 67 characters) is "
        "charged as one message.")},
    "sms_sender": {"type": "string", "maxLength": 17, "pattern": SMS_SENDER_PATTERN,
                   "x-pattern-message": "a number (digits, optionally starting with +) or up "
                                        "to 11 letters and digits",
                   "description": "sms: the sender shown; empty: the SMSC connection's."},
    "smsc_id": {**NULLABLE_ID, "description": (
        "sms: the SMSC connection (an enabled one of the provider's); null: the default one.")},
    "email_subject": {"type": "string", "maxLength": 255,
                      "description": "email: the subject, a template like the parts."},
    "email_html": {"type": "string", "maxLength": 200000, "description": (
        "email: the HTML part, a Jinja2 template (sandboxed) with the contact's fields "
        "({{ first_name }}, {{ custom1 }}, ...).")},
    "email_text": {"type": "string", "maxLength": 100000,
                   "description": "email: the plain-text part (a template too)."},
    "email_from": {**EMAIL, "description": "email: the From address; empty: the provider's "
                                           "sender."},
    "bounce_address": {**EMAIL, "description": "email: where bounces go (Return-Path); empty: "
                                               "the provider's bounce address."},
    "fax_document_id": {**NULLABLE_ID,
                        "description": "fax: the document sent (one of the tenant's)."},
}
FLOW = {"type": "object", "description": (
    "Type-specific settings. voice_interactive: {keys: {\"1\": \"transfer\", \"2\": \"opt_out\", "
    "\"3\": \"replay\"}, transfer: {kind: extension|number|agents, value}, timeout, no_input: "
    "hangup|replay}; voice_survey: {intro, questions: [{key, text, digits}], retries, timeout, "
    "closing}; appointment_reminder: {text with {first_name}/{custom1}.. placeholders, transfer, "
    "timeout, retries}; voice_message and voice_ivr: {}.")}
CAMPAIGN_FIELDS = {
    "name": {"type": "string", "minLength": 1, "maxLength": 100},
    "type": {"type": "string", "enum": CAMPAIGN_TYPES},
    "group_id": ID,
    "ivr_id": {**NULLABLE_ID, "description": "The IVR a voice_ivr campaign runs."},
    "flow": FLOW,
    "repeat_count": {"type": "integer", "minimum": 1, "maximum": 10,
                     "description": "voice_message: how many times the message plays."},
    "message_text": {"type": "string", "maxLength": 2000,
                     "description": "The message, spoken by TTS (voice_message, voice_interactive)."},
    "prompt_id": {**NULLABLE_ID, "description": "The message: a prompt of the tenant's audio "
                                                "library (/prompts), instead of message_text."},
    "caller_id": {"type": "string", "pattern": r"^(\+?[0-9]{2,20})?$",
                  "x-pattern-message": "digits only, optionally starting with +"},
    "channel_limit": {"type": "integer", "minimum": 1, "maximum": 10000},
    "dial_timeout": {"type": "integer", "minimum": 5, "maximum": 120},
    "retry_busy": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_noanswer": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_failed": {"type": "integer", "minimum": 0, "maximum": 10},
    "retry_interval": {"type": "integer", "minimum": 30, "maximum": 86400},
    "retry_machine": {"type": "integer", "minimum": 0, "maximum": 10,
                      "description": "Retries when an answering machine answered (AMD)."},
    "amd_enabled": {"type": "boolean", "description": "Detect answering machines."},
    "amd_action": {"type": "string", "enum": ["hangup", "leave_message"]},
    "record": {"type": "boolean", "description": "Record answered calls."},
    "dial_ratio": {"type": "number", "minimum": 1.0, "maximum": 3.0,
                   "description": "voice_agent: lines dialled per ready agent (1.0-3.0)."},
    "pacing_mode": {"type": "string", "enum": ["ratio", "predictive"],
                    "description": "voice_agent: ratio dials dial_ratio lines per ready agent; "
                                   "predictive adapts the level to live figures and keeps the "
                                   "abandon rate under abandon_cap_pct."},
    "abandon_cap_pct": {"type": "number", "minimum": 0.5, "maximum": 10.0,
                        "description": "voice_agent, predictive: the most abandoned calls, in "
                                       "percent of live-answered calls, over the campaign's "
                                       "run (default 3)."},
    "wrapup_seconds": {"type": "integer", "minimum": 0, "maximum": 3600,
                       "description": "voice_agent: after-call work before the agent is "
                                      "offered the next call."},
    "script": {"type": "string", "maxLength": 20000,
               "description": "voice_agent: what the agent reads, shown in the console."},
    "web_form_url": {"type": "string", "maxLength": 500,
                     "pattern": r"^(https?://\S+)?$",
                     "x-pattern-message": "an http:// or https:// address",
                     "description": "voice_agent: the CRM page the agent console opens; "
                                    "{phone}, {first_name}, {last_name}, {email}, {custom1}"
                                    "..{custom8} are filled with the contact's fields."},
    "agent_ids": {"type": "array", "maxItems": 1000, "uniqueItems": True, "items": ID,
                  "description": "voice_agent: the agents (users with the role agent) who "
                                 "take the answered calls."},
    "windows": {"type": "string", "maxLength": 500,
                "description": "Calling hours in the tenant's time zone, e.g. "
                               "\"Mon-Fri 09:00-17:00, Sat 10:00-13:00\"; empty: the "
                               "account's hours apply."},
    **MESSAGE_FIELDS,
}
CAMPAIGN_CREATE = obj({**CAMPAIGN_FIELDS, "tenant_id": {
    **ID, "description": "Only with the provider's key."}}, ["name", "group_id"])
CAMPAIGN_UPDATE = obj(CAMPAIGN_FIELDS, update=True)
