"""E-mail templates written by tenants: subject, HTML part and plain-text part, filled with a
contact's fields by Jinja2's sandboxed environment.

Tenants write these, so they run in `SandboxedEnvironment` (no attribute starting with `_`, no
unsafe callables: `{{ ''.__class__.__mro__ }}` raises SecurityError), with StrictUndefined (an
unknown name is an error, never an empty string) and a cap on what `*` / `**` may build. The
HTML part is autoescaped: a contact's field can never inject markup. `validate_templates`
is what the campaign form and the API call before saving: it lists every problem in words a
tenant can act on. No Flask here."""
from __future__ import annotations

import html as html_lib
import operator
import re
from dataclasses import dataclass
from html.parser import HTMLParser

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from voxcast.errors import ServiceError
from voxcast.messaging.dispatch import CONTACT_FIELDS

UNSUBSCRIBE_VAR = "unsubscribe_url"
NAMES = frozenset(CONTACT_FIELDS) | {UNSUBSCRIBE_VAR}
MAX_SUBJECT = 255
MAX_PART = 512 * 1024  # characters of a template part, and of a rendered part
MAX_BUILT = 100_000  # the longest string or sequence `*` / `**` may make
SAMPLE = {name: f"sample-{name}" for name in CONTACT_FIELDS} | {
    "email": "sample@example.com", "phone": "+15550100", UNSUBSCRIBE_VAR: "https://example.com/u/x"}


class TemplateProblem(ServiceError, ValueError):
    """A template that cannot be filled for one contact (render time)."""
    code, status = "invalid-template", 422


class _Sandbox(SandboxedEnvironment):
    """The sandbox, plus a bound on values built with * and ** ('x' * 10**9 is refused)."""
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context, operator_name, left, right):
        if operator_name == "**":
            if isinstance(right, (int, float)) and abs(right) > 64:
                raise SecurityError("the exponent is too large")
            return operator.pow(left, right)
        if operator_name == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and \
                        len(seq) * n > MAX_BUILT:
                    raise SecurityError("the value built is too large")
            return operator.mul(left, right)
        return super().call_binop(context, operator_name, left, right)


def _env(autoescape: bool) -> _Sandbox:
    return _Sandbox(autoescape=autoescape, undefined=StrictUndefined, keep_trailing_newline=True)


HTML_ENV = _env(True)
TEXT_ENV = _env(False)  # subject and plain-text part: no HTML escaping


def _parse_problems(label: str, source: str, env: _Sandbox) -> list[str]:
    if len(source) > MAX_PART:
        return [f"{label}: longer than {MAX_PART // 1024} KiB"]
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [f"{label}, line {exc.lineno}: {exc.message}"]
    unknown = sorted(meta.find_undeclared_variables(ast) - NAMES)
    if unknown:
        return [f"{label}: unknown name(s) {', '.join(unknown)}; allowed are "
                f"{', '.join(sorted(NAMES))}"]
    return []


def _render_one(env: _Sandbox, source: str, fields: dict, label: str) -> str:
    try:
        out = env.from_string(source).render(**fields)
    except SecurityError as exc:
        raise TemplateProblem(f"{label}: not allowed in a template ({exc})") from None
    except UndefinedError as exc:
        raise TemplateProblem(f"{label}: {exc.message}") from None
    except TemplateError as exc:
        raise TemplateProblem(f"{label}: {exc.message or exc}") from None
    except (TypeError, ValueError, ArithmeticError, OverflowError, RecursionError) as exc:
        raise TemplateProblem(f"{label}: {type(exc).__name__}: {exc}") from None
    if len(out) > MAX_PART:
        raise TemplateProblem(f"{label}: the result is longer than {MAX_PART // 1024} KiB")
    return out


def validate_templates(subject: str, html: str, text: str) -> list[str]:
    """Every problem of a campaign's e-mail templates, [] when they are fine: syntax, names
    that are not contact fields, anything the sandbox refuses (tried with a sample contact).
    A subject is required, and an HTML or a text part."""
    subject, html, text = subject or "", html or "", text or ""
    problems: list[str] = []
    if not subject.strip():
        problems.append("Subject: required")
    if not html.strip() and not text.strip():
        problems.append("Give an HTML part, a plain-text part or both")
    parts = (("Subject", subject, TEXT_ENV), ("HTML part", html, HTML_ENV),
             ("Text part", text, TEXT_ENV))
    for label, source, env in parts:
        found = _parse_problems(label, source, env)
        problems.extend(found)
        if found or not source:
            continue
        try:
            out = _render_one(env, source, SAMPLE, label)
        except TemplateProblem as exc:
            problems.append(str(exc))
            continue
        if label == "Subject" and ("\n" in out.strip() or len(out) > MAX_SUBJECT):
            problems.append(f"Subject: one line of at most {MAX_SUBJECT} characters")
    return problems


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    html: str  # "" when the campaign has no HTML part
    text: str


def render(subject: str, html: str, text: str, fields: dict) -> RenderedMail:
    """The three parts for one contact (fields: the contact's, plus unsubscribe_url). The
    text part is derived from the HTML when the campaign has none; the unsubscribe link is
    added to each part that does not show it already. Raises TemplateProblem."""
    fields = {name: fields.get(name, "") or "" for name in NAMES}
    out_subject = " ".join(_render_one(TEXT_ENV, subject or "", fields, "Subject").split())
    out_html = _render_one(HTML_ENV, html, fields, "HTML part") if (html or "").strip() else ""
    if (text or "").strip():
        out_text = _render_one(TEXT_ENV, text, fields, "Text part")
    else:
        out_text = html_to_text(out_html)
    link = fields[UNSUBSCRIBE_VAR]
    if link:
        if out_html and link not in out_html and html_lib.escape(link) not in out_html:
            out_html = add_html_footer(out_html, link)
        if link not in out_text:
            out_text = out_text.rstrip("\n") + f"\n\n--\nUnsubscribe: {link}\n"
    return RenderedMail(out_subject[:MAX_SUBJECT], out_html, out_text)


def add_html_footer(html: str, link: str) -> str:
    footer = (f'<p class="unsubscribe"><a href="{html_lib.escape(link)}">Unsubscribe</a> '
              "from these e-mails.</p>")
    match = re.search(r"</body\s*>", html, re.IGNORECASE)
    if match:
        return html[:match.start()] + footer + html[match.start():]
    return html + "\n" + footer


# -- HTML to plain text ------------------------------------------------------------------------

_BLOCK = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
          "ol", "blockquote", "section", "article", "header", "footer", "hr", "pre"}
_SKIP = {"script", "style", "head", "title", "template", "noscript"}


class _TextMaker(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skip = 0
        self.href: list[str | None] = []
        self.link_text: list[list[str]] = []

    def handle_starttag(self, tag, attrs):
        if tag in _SKIP:
            self.skip += 1
        elif tag in _BLOCK:
            self.out.append("\n")
            if tag == "li":
                self.out.append("- ")
        elif tag == "a":
            self.href.append(dict(attrs).get("href"))
            self.link_text.append([])
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self._emit(alt)

    def handle_endtag(self, tag):
        if tag in _SKIP:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK:
            self.out.append("\n")
        elif tag == "a" and self.href:
            href, words = self.href.pop(), "".join(self.link_text.pop()).strip()
            if href and not href.startswith(("#", "javascript:")) and href != words:
                self._emit(f" ({href})" if words else href)

    def _emit(self, text: str):
        if self.link_text:
            self.link_text[-1].append(text)
        self.out.append(text)

    def handle_data(self, data):
        if not self.skip:
            self._emit(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """A readable plain-text version of an HTML part: blocks on their own lines, links as
    'text (url)', no scripts or styles."""
    if not html:
        return ""
    maker = _TextMaker()
    maker.feed(html)
    maker.close()
    lines = [line.strip() for line in "".join(maker.out).splitlines()]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
