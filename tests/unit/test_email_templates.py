"""E-mail templates in Jinja2's sandbox, the message as built for SMTP, tokens, DSN parsing:
pure logic, no database."""
from __future__ import annotations

import email
import email.policy

import pytest

from voxcast.mailer import MailSettings
from voxcast.messaging.dispatch import Outgoing, Rendered
from voxcast.messaging.email import validate_templates
from voxcast.messaging.email import bounces, templates
from voxcast.messaging.email.building import MailBuilder, provider_bounce_address
from voxcast.messaging.email.tokens import BadToken, Signer

FIELDS = {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com",
          "phone": "+15550100", **{f"custom{i}": f"c{i}" for i in range(1, 9)}}


def test_given_good_templates_when_validated_then_no_problem():
    assert validate_templates("Hello {{ first_name }}",
                              "<p>Dear {{ first_name }} {{ last_name }}, {{ custom8 }}</p>",
                              "Dear {{ first_name|upper }}\n{{ unsubscribe_url }}") == []


@pytest.mark.parametrize("source", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ first_name.__class__.__base__ }}",
    "{{ self._TemplateReference__context }}",
    "{{ 'x' * 100000000 }}",
    "{{ range(10**9)|list }}",
    "{% for i in range(99999999) %}{% endfor %}",
    "{{ 9 ** 99999999 }}",
])
def test_given_a_template_escaping_the_sandbox_when_validated_then_refused(source):
    problems = validate_templates("Hi", source, "")
    assert problems and "HTML part" in problems[0], problems
    with pytest.raises(templates.TemplateProblem):
        templates.render("Hi", source, "", FIELDS)


def test_given_unknown_names_and_bad_syntax_when_validated_then_each_is_said():
    problems = validate_templates("Hi {{ frist_name }}", "{% if %}", "")
    assert any("Subject" in p and "frist_name" in p for p in problems)
    assert any(p.startswith("HTML part, line 1") for p in problems)
    assert validate_templates("", "", "") == ["Subject: required",
                                              "Give an HTML part, a plain-text part or both"]


def test_given_a_field_with_markup_when_rendered_then_the_html_part_escapes_it():
    mail = templates.render("Hi {{ first_name }}", "<p>{{ first_name }}</p>", "",
                            {**FIELDS, "first_name": "<script>x()</script>",
                             "unsubscribe_url": "https://v.test/u/T"})
    assert "<script>" not in mail.html and "&lt;script&gt;" in mail.html
    assert mail.subject == "Hi <script>x()</script>"  # a header, not HTML
    assert "<script>x()</script>" in mail.text  # text part: derived, plain


def test_given_no_text_part_when_rendered_then_it_is_derived_from_the_html_with_the_link():
    mail = templates.render(
        "S", "<html><head><style>p{}</style></head><body><h1>Offer</h1><p>Dear {{ first_name }},"
        " see <a href='https://shop.test/x'>our shop</a>.</p><ul><li>one</li><li>two</li></ul>"
        "<script>alert(1)</script></body></html>", "",
        {**FIELDS, "unsubscribe_url": "https://v.test/u/T"})
    assert mail.text.startswith("Offer\n\nDear Ann, see our shop (https://shop.test/x).")
    assert "- one\n" in mail.text and "alert" not in mail.text and "p{}" not in mail.text
    assert "Unsubscribe: https://v.test/u/T" in mail.text
    assert mail.html.index('href="https://v.test/u/T"') < mail.html.index("</body>")


def test_given_a_template_showing_the_link_when_rendered_then_no_second_link_is_added():
    mail = templates.render("S", "<a href='{{ unsubscribe_url }}'>leave</a>",
                            "leave: {{ unsubscribe_url }}",
                            {**FIELDS, "unsubscribe_url": "https://v.test/u/T"})
    assert mail.html.count("https://v.test/u/T") == 1
    assert mail.text.count("https://v.test/u/T") == 1


def test_given_a_token_when_altered_then_refused():
    signer = Signer("secret-1")
    token = signer.unsubscribe_token(7, "Ann@Example.com", 3)
    ref = signer.read_unsubscribe(token)
    assert (ref.tenant_id, ref.address, ref.campaign_id) == (7, "ann@example.com", 3)
    for bad in (token[:-2] + ("AA" if not token.endswith("AA") else "BB"), token + "x", "",
                Signer("other-instance").unsubscribe_token(7, "ann@example.com", 3)):
        with pytest.raises(BadToken):
            signer.read_unsubscribe(bad)


def test_given_a_verp_address_when_read_then_only_ours_name_a_message():
    signer = Signer("secret-1")
    address = signer.verp(42, "bounces@mail.provider.test")
    assert address.startswith("bounces+42.") and address.endswith("@mail.provider.test")
    assert signer.read_verp(address) == ("", 42)
    assert signer.read_verp(address.upper()) == ("", 42)  # MTAs may change the case
    assert signer.read_verp(signer.verp(42, "b@x.test", kind="u")) == ("u", 42)
    assert signer.read_verp(address.replace("+42.", "+43.")) is None
    assert signer.read_verp("bounces@mail.provider.test") is None


def _builder():
    mail = MailSettings(sender="news@provider.test", base_url="https://vox.test")
    return MailBuilder(Signer("s"), mail, provider_bounce_address(mail, {}), "https://vox.test")


def test_given_an_outgoing_mail_when_built_then_headers_parts_and_envelope_follow_rfc8058():
    builder = _builder()
    out = Outgoing(9, 2, 5, 11, 13, "email", "ann@example.com", "", Rendered(
        body="Hi Ann\n", subject="Hello Ann", html="<p>Hi Ann</p>"), 1)
    env = builder.build(out, campaign_bounce="")
    assert env.sender == Signer("s").verp(9, "bounce@provider.test")
    msg = email.message_from_bytes(env.data, policy=email.policy.default)
    assert msg["From"] == "news@provider.test" and msg["To"] == "ann@example.com"
    assert msg["Message-ID"] == env.message_id and env.message_id.endswith("@provider.test>")
    link, mailto = [p.strip(" <>") for p in msg["List-Unsubscribe"].split(",")]
    assert link.startswith("https://vox.test/u/") and mailto.startswith("mailto:bounce+u9.")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ref = Signer("s").read_unsubscribe(link.rsplit("/", 1)[1])
    assert (ref.tenant_id, ref.address, ref.campaign_id) == (2, "ann@example.com", 5)
    assert msg.get_body(("plain",)).get_content().replace("\r\n", "\n") == "Hi Ann\n"
    assert msg.get_body(("html",)).get_content().strip() == "<p>Hi Ann</p>"
    # the same message built again (a resend) keeps its Message-ID; the campaign's
    # bounce address and From win over the provider's
    again = builder.build(Outgoing(9, 2, 5, 11, 13, "email", "ann@example.com",
                                   "Shop <shop@tenant.test>", out.rendered, 2),
                          campaign_bounce="returns@tenant.test")
    assert again.sender.endswith("@tenant.test") and again.sender.startswith("returns+9.")
    assert email.message_from_bytes(again.data)["From"] == "Shop <shop@tenant.test>"


DSN = b"""From: MAILER-DAEMON@mx.test
To: bounce+5.abc@x.test
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

Your message could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.test

Final-Recipient: rfc822; Ann@Example.com
Action: %(action)s
Status: %(status)s
Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected

--B
Content-Type: text/rfc822-headers

Message-ID: <vx5.abc@provider.test>
Subject: hi

--B--
"""


@pytest.mark.parametrize("action,status,kind", [
    ("failed", "5.1.1", "hard"), ("failed", "4.2.2", "soft"), ("delayed", "4.4.1", "soft"),
    ("delivered", "2.0.0", ""), ("failed", "5.7.1 (spam)", "hard")])
def test_given_a_dsn_when_parsed_then_its_recipient_status_decides_hard_or_soft(action, status, kind):
    report = bounces.parse(DSN % {b"action": action.encode(), b"status": status.encode()})
    assert report.is_dsn and report.original_message_id == "<vx5.abc@provider.test>"
    (record,) = report.recipients
    assert record.recipient == "ann@example.com" and record.kind == kind
