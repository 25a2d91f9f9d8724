"""The history table: one row per migration this database has, and when it got it."""
from __future__ import annotations

from peewee import BooleanField, CharField, DateTimeField

from ..db import BaseModel
from ..entities import utcnow


class SchemaMigration(BaseModel):
    name = CharField(primary_key=True)
    applied_at = DateTimeField(default=utcnow)
    fresh_install = BooleanField(default=False)  # stamped by a new install, not run
