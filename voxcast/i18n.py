"""Message marking for services that run without a request locale (the ledger, user rules).

`N_` marks a text for pybabel (`-k N_`) and returns it unchanged; the service raises it as a
template with its params, and the web UI translates it for the user who sees it."""
from __future__ import annotations


def N_(message: str) -> str:
    return message


class Msg(str):
    """A message a service hands up: the English text as the string, with the template (marked
    with N_) and params kept, so a page can show it in the reader's language:
    `_(m.template, **m.params)` (webui's `translated`)."""
    template: str
    params: dict

    def __new__(cls, template: str, **params):
        text = super().__new__(cls, template % params if params else template)
        text.template, text.params = template, params
        return text
