"""The OpenAPI document and a small page pointing to it; both need no key."""
from __future__ import annotations

from flask import jsonify, render_template

from . import bp
from .spec import DOCUMENT


@bp.route("/openapi.json")
def openapi():
    return jsonify(DOCUMENT)


@bp.route("/docs")
def docs():
    return render_template("api/docs.html", spec=DOCUMENT)
