"""Migration steps that seal a plain-text column of an append-only table in place.

The plain column is renamed ``<field>_plain``, the sealed field is added under the old name, each
value is sealed with the associated data the field itself uses, the plain column is dropped and
the append-only guard is put back (SQLite may rebuild the table when columns change). The guard is
lifted only around the copy, which is the only UPDATE these tables ever see.
"""

from __future__ import annotations

from typing import Any

from django.db import migrations

from teletherapy.appendonly import guards_lifted, install_guards
from teletherapy.fields import EncryptedTextField
from teletherapy.keyring import keyring


def seal_in_place(
    *, app_label: str, model_name: str, field: str, table: str, aad_field: str = "pk"
) -> list[migrations.operations.base.Operation]:
    plain = f"{field}_plain"
    prefix = f"{app_label}.{model_name}.{field}:"

    def rows(apps: Any, schema_editor: Any) -> tuple[Any, Any]:
        model = apps.get_model(app_label, model_name)
        return model.objects.using(schema_editor.connection.alias), schema_editor.connection

    def seal(apps: Any, schema_editor: Any) -> None:
        objects, connection = rows(apps, schema_editor)
        values = [(key, text) for key, text in objects.values_list(aad_field, plain) if text]
        if not values:
            return
        ring = keyring()
        with guards_lifted(connection, [table]):
            for key, text in values:
                token = ring.seal(text, purpose="field", aad=f"{prefix}{key}".encode())
                objects.filter(**{aad_field: key}).update(**{field: token})

    def unseal(apps: Any, schema_editor: Any) -> None:
        objects, connection = rows(apps, schema_editor)
        ring = keyring()
        with guards_lifted(connection, [table]):
            for key, token in list(objects.values_list(aad_field, field)):
                if token:
                    text = ring.unseal(str(token), purpose="field", aad=f"{prefix}{key}".encode())
                    objects.filter(**{aad_field: key}).update(**{plain: text})

    def guard(apps: Any, schema_editor: Any) -> None:
        install_guards(schema_editor.connection, table)

    sealed = EncryptedTextField(blank=True, null=True, aad_field=None if aad_field == "pk" else aad_field)
    return [
        migrations.RenameField(model_name, field, plain),
        migrations.AddField(model_name=model_name, name=field, field=sealed),
        migrations.RunPython(seal, unseal, hints={"target_db": "default"}),
        migrations.RemoveField(model_name, plain),
        migrations.RunPython(guard, guard, hints={"target_db": "default"}),
    ]
