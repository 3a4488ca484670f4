"""Routes models that declare ``stored_apart = "psychotherapy"`` to their own database.

Psychotherapy notes get stronger protection than the general record; keeping them in a
separate database (a second SQLite file, or a second PostgreSQL database) means a dump or a
leaked query against the main database cannot reach them.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps

PSYCHOTHERAPY_ALIAS = "psychotherapy"


def _alias_for(model: type) -> str:
    return getattr(model, "stored_apart", None) or "default"


class PsychotherapyRouter:
    def db_for_read(self, model: type, **hints: Any) -> str:
        return _alias_for(model)

    def db_for_write(self, model: type, **hints: Any) -> str:
        return _alias_for(model)

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        # Rows in the separate store refer to the main database by id only.
        return _alias_for(type(obj1)) == _alias_for(type(obj2))

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool | None:
        if model_name is None:
            # RunSQL / RunPython operations: only on the main database unless they say so.
            return hints.get("target_db", "default") == db
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            return db == "default"
        return _alias_for(model) == db
