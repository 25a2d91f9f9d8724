"""The per-campaign CRM web form: the tenant's URL with the contact's fields filled in.

A template names fields in braces, in its path, query or fragment only (`https://crm.example/find?tel={phone}&n={last_name}`);
each value is percent-encoded, so a contact's data can never add query parameters, a path or
a scheme of its own. A template without any placeholder gets every field appended as a query
string. Only http and https URLs are ever produced (a `javascript:` or `data:` template would
run in the agent's session)."""
from __future__ import annotations

import re
from urllib.parse import quote, urlencode, urlsplit

FIELDS = ("phone", "first_name", "last_name", "email", *(f"custom{i}" for i in range(1, 9)),
          "call_id", "campaign", "agent")
_PLACEHOLDER = re.compile(r"\{([a-z0-9_]+)\}")


def allowed(template: str) -> bool:
    """Whether a template may be stored: an absolute http(s) URL naming only known fields."""
    template = (template or "").strip()
    if not template or any(ord(ch) < 33 or ch == "\\" for ch in template):
        return False
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc or "{" in parts.netloc:
        return False  # a contact's field never picks the host
    return all(name in FIELDS for name in _PLACEHOLDER.findall(template))


def form_url(template: str, values: dict[str, object]) -> str | None:
    """The filled URL, or None when the template is empty or not an allowed one."""
    if not allowed(template):
        return None
    template = template.strip()
    text = {k: "" if values.get(k) is None else str(values.get(k)) for k in FIELDS}
    if not _PLACEHOLDER.search(template):
        sep = "&" if "?" in template else "?"
        return template + sep + urlencode([(k, v) for k, v in text.items() if v])
    url = _PLACEHOLDER.sub(lambda m: quote(text[m.group(1)], safe=""), template)
    if urlsplit(url).scheme not in ("http", "https"):  # cannot happen; never hand one out
        return None
    return url
