"""The Idempotency-Key header on every write of /api/v1 (voxcast.accounts.idempotency):
claimed after the key is authenticated, the answer stored after the resource ran, replayed
with `Idempotent-Replayed: true`; a 5xx answer or an exception releases the key."""
from __future__ import annotations

from flask import current_app, g, request

from voxcast.accounts import idempotency

from . import PUBLIC_ENDPOINTS, bp, error_response

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CLAIM = "idempotency_claim"


@bp.before_request
def claim_key():
    """Runs after webui.api.authenticate (registered later), so g.principal is the caller."""
    if (request.method not in WRITE_METHODS or request.endpoint in PUBLIC_ENDPOINTS
            or getattr(g, "principal", None) is None):
        return None
    key = request.headers.get(HEADER)
    if key is None:
        return None
    try:
        found = idempotency.claim(g.principal.key_id, key.strip(), request.method, request.path,
                                  request.query_string, request.get_data(cache=True))
    except idempotency.IdempotencyError as exc:
        return error_response(exc.status, exc.code, str(exc))
    if isinstance(found, idempotency.Stored):
        response = current_app.response_class(found.body, status=found.status,
                                              content_type=found.content_type)
        response.headers[REPLAYED] = "true"
        return response
    setattr(g, _CLAIM, found)
    g.idempotency_ref = idempotency.work_ref(g.principal.key_id, key.strip(), request.method,
                                             request.path, request.query_string,
                                             request.get_data(cache=True))
    return None


def work_ref() -> str | None:
    """The name of this request's work when it came with an Idempotency-Key (None without):
    resources that move money pass it on, so a retry after a crash books nothing twice."""
    return g.get("idempotency_ref")


@bp.after_request
def store_answer(response):
    claim = g.pop(_CLAIM, None)
    if claim is None:
        return response
    if response.status_code >= 500 or response.is_streamed:
        idempotency.release(claim)
    else:
        idempotency.finish(claim, response.status_code, response.get_data(as_text=True),
                           response.content_type)
    return response


@bp.teardown_request
def release_on_exception(exc):
    """An exception no handler turned into an answer: give the key back."""
    claim = g.pop(_CLAIM, None)
    if claim is not None:
        idempotency.release(claim)
