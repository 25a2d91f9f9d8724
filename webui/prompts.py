"""The tenant's audio library (/prompts/): upload a file, record one in the browser
(static/prompt_recorder.js posts the recording with the page's CSRF token), or have a text
spoken in the tenant's language; every prompt plays in the page (its audio route, scoped to the
tenant) with where it is used; delete while nothing that may still play it names it.
voxcast.audio.library does the work."""
from __future__ import annotations

from flask import Blueprint, current_app, flash, jsonify, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from models import Tenant
from voxcast.audio import library
from voxcast.errors import ServiceError
from voxcast.tenants.quotas import QuotaExceeded

from .auth import current_tenant_id, tenant_required
from .paging import Page, matching, search_arg
from .file_pages import (add_field_error, flash_outcome, owned_or_404, posted_file,
                         refusal_status, send_or_404)

bp = Blueprint("prompts", __name__, url_prefix="/prompts")
PER_PAGE = 50

LANGUAGE_NAMES = {"en": _l("English"), "de": _l("German")}
SOURCE_NAMES = {"upload": _l("Uploaded"), "recording": _l("Recorded"), "tts": _l("Text to speech")}


class UploadForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=library.MAX_NAME)],
                       description=_l("Empty: the file's name."))
    audio = FileField(_l("Audio file"), validators=[FileRequired(_l("Choose a file."))],
                      description=_l("Any common format: WAV, MP3, OGG, FLAC, AIFF..."))


class SpeakForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Optional(), Length(max=library.MAX_NAME)],
                       description=_l("Empty: the start of the text."))
    text = TextAreaField(_l("Text to speak"), validators=[
        DataRequired(_l("Enter the text to speak.")), Length(max=library.MAX_TEXT)])
    language = SelectField(_l("Language"), validate_choice=False)


class RecordForm(FlaskForm):
    """What prompt_recorder.js sends: the recording as a WAV file and its name."""
    name = StringField(_l("Name"), validators=[Optional(), Length(max=library.MAX_NAME)])
    audio = FileField(_l("Recording"), validators=[FileRequired(_l("Record something first."))])


def _settings():
    return current_app.config["VOXCAST_SETTINGS"]


def error_text(exc: Exception) -> str:
    """A refusal of the library in the user's language."""
    if isinstance(exc, QuotaExceeded):
        return _("Not enough storage: your plan allows %(limit)s MB and %(used).1f MB are used.",
                 limit=exc.limit, used=exc.used)
    template = getattr(exc, "template", None)
    if isinstance(template, str):
        return _(template, **getattr(exc, "params", {}))
    return _(str(exc))


def _language_choices(form: SpeakForm) -> None:
    form.language.choices = [(code, LANGUAGE_NAMES.get(code, code))
                             for code in library.languages()]
    if not form.language.data:
        from voxcast.audio import prompts as shipped
        form.language.data = shipped.normalize(Tenant.get_by_id(current_tenant_id()).language)


def _page(upload: UploadForm | None = None, speak: SpeakForm | None = None, status: int = 200):
    tid = current_tenant_id()
    q = search_arg()
    page = Page.from_request(matching(library.query(tid), q, *library.SEARCHED), PER_PAGE)
    speak = speak or SpeakForm(formdata=None)
    _language_choices(speak)
    return render_template("prompts/index.html", prompts=page.items, page=page, q=q,
                           uses=library.uses(tid, page.items),
                           upload=upload or UploadForm(formdata=None), speak=speak,
                           record=RecordForm(formdata=None), sources=SOURCE_NAMES,
                           language_names=LANGUAGE_NAMES,
                           max_mb=library.MAX_BYTES // (1024 * 1024),
                           max_minutes=library.MAX_SECONDS // 60), status


def _refused(field, exc: ServiceError, **forms):
    """The page again with the library's refusal on `field` of the posted form."""
    add_field_error(field, error_text(exc))
    return _page(**forms, status=refusal_status(exc))


def _added(prompt) -> None:
    flash(_("%(name)s added (%(seconds)s s).", name=prompt.name, seconds=prompt.seconds),
          "success")


@bp.route("/")
@tenant_required
def index():
    return _page()


@bp.route("/upload", methods=["POST"])
@tenant_required
def upload():
    form = UploadForm()
    if not form.validate():
        return _page(upload=form, status=400)
    filename, data = posted_file(form.audio, library.MAX_BYTES)
    try:
        prompt = library.upload(current_tenant_id(), form.name.data or "", filename, data,
                                _settings())
    except ServiceError as exc:
        return _refused(form.name if getattr(exc, "field", "") == "name" else form.audio, exc,
                        upload=form)
    _added(prompt)
    return redirect(url_for("prompts.index"))


@bp.route("/speak", methods=["POST"])
@tenant_required
def speak():
    form = SpeakForm()
    _language_choices(form)
    if not form.validate():
        return _page(speak=form, status=400)
    try:
        prompt = library.speak(current_tenant_id(), form.name.data or "", form.text.data,
                               _settings(), language=form.language.data or None)
    except ServiceError as exc:
        return _refused({"name": form.name, "language": form.language}.get(
            getattr(exc, "field", ""), form.text), exc, speak=form)
    _added(prompt)
    return redirect(url_for("prompts.index"))


@bp.route("/record", methods=["POST"])
@tenant_required
def record():
    """The browser's recording (prompt_recorder.js, fetch with the CSRF token): JSON back."""
    form = RecordForm()
    if not form.validate():
        errors = [e for f in (form.name, form.audio) for e in f.errors]
        return jsonify(error=" ".join(str(e) for e in errors) or _("Invalid request.")), 400
    filename, data = posted_file(form.audio, library.MAX_BYTES, "recording.wav")
    try:
        prompt = library.upload(current_tenant_id(), form.name.data or "", filename, data,
                                _settings(), source="recording")
    except ServiceError as exc:
        return jsonify(error=error_text(exc), code=exc.code), refusal_status(exc)
    _added(prompt)
    return jsonify(id=prompt.id, name=prompt.name, seconds=float(prompt.seconds),
                   audio_url=url_for("prompts.audio", prompt_id=prompt.id),
                   next=url_for("prompts.index")), 201


@bp.route("/<int:prompt_id>/audio")
@tenant_required
def audio(prompt_id: int):
    """The prompt's WAV (8 kHz mono PCM, which browsers play as it is) for its <audio>."""
    prompt = owned_or_404(library.get, current_tenant_id(), prompt_id)  # another tenant's too
    return send_or_404(library.audio_path(_settings(), prompt), mimetype="audio/wav",
                       download_name=f"{prompt.sound}.wav", conditional=True, max_age=0)


@bp.route("/<int:prompt_id>/delete", methods=["POST"])
@tenant_required
def delete(prompt_id: int):
    flash_outcome(lambda: library.delete(current_tenant_id(), prompt_id, _settings()),
                  _("Prompt deleted."), error_text)
    return redirect(url_for("prompts.index"))
