"""What the portal's pages that upload, play and delete a tenant's files share (the audio
library, fax documents): reading the posted file, answering a service's refusal
(voxcast.errors.ServiceError) on the form field it concerns, and the 404s of a file that is
another tenant's or not stored, so they agree on sizes, statuses and fields."""
from __future__ import annotations

from typing import Callable, TypeVar

from flask import abort, flash, send_file

from voxcast.errors import ServiceError

T = TypeVar("T")


def posted_file(field, most: int, default_name: str = "") -> tuple[str, bytes]:
    """The file field's name and at most `most` + 1 bytes: one more than the service allows,
    so it tells a file too large without the whole of it in memory."""
    storage = field.data
    return storage.filename or default_name, storage.read(most + 1)


def refusal_status(exc: ServiceError) -> int:
    """The status of the page shown again after a refusal: the service's own when it is a
    client error, else 400 (the form is what the user can change)."""
    return exc.status if 400 <= exc.status < 500 else 400


def add_field_error(field, message: str) -> None:
    """Puts a refusal on the form field it concerns, after the form's own checks passed."""
    field.errors = [*field.errors, message]


def owned_or_404(get: Callable[..., T], *args) -> T:
    """What the service's `get` finds; its refusal (another tenant's, gone) is a 404."""
    try:
        return get(*args)
    except ServiceError:
        abort(404)


def send_or_404(path, **options):
    """The stored file (send_file's `options`); none stored (None) is a 404."""
    if path is None:
        abort(404)
    return send_file(path, **options)


def flash_outcome(action: Callable[[], object], done: str,
                  describe: Callable[[ServiceError], str]) -> None:
    """Runs the service call of a page that redirects after it (a delete) and flashes `done`
    or the refusal as `describe` words it; a not found (404) aborts instead."""
    try:
        action()
    except ServiceError as exc:
        if exc.status == 404:
            abort(404)
        flash(describe(exc), "error")
    else:
        flash(done, "success")
