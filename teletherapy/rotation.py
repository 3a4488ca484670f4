"""Re-encrypt every sealed value under the current keys, in resumable batches.

A row whose values already carry the current key id is skipped, so an interrupted run simply
continues where it stopped when started again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import router, transaction
from django.db.models import Model

from teletherapy.blind_index import blind_index
from teletherapy.fields import EncryptedTextField
from teletherapy.keyring import keyring


@dataclass
class RotationReport:
    rows_seen: int = 0
    values_resealed: int = 0
    indexes_rebuilt: int = 0
    per_model: dict[str, int] = field(default_factory=dict)


def encrypted_models() -> Iterator[tuple[type[Model], list[EncryptedTextField]]]:
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            yield model, fields


def _aad(model: type[Model], field: EncryptedTextField, pk: object) -> bytes:
    return f"{model._meta.app_label}.{model._meta.model_name}.{field.name}:{pk}".encode()


def rotate_all(*, batch_size: int = 200, progress: Callable[[str, int, int], None] | None = None) -> RotationReport:
    ring = keyring()
    report = RotationReport()
    for model, fields in encrypted_models():
        alias = router.db_for_write(model)
        manager = model._base_manager.using(alias)
        total = manager.count()
        done = 0
        last_pk = None
        while True:
            batch = manager.order_by("pk")
            if last_pk is not None:
                batch = batch.filter(pk__gt=last_pk)
            extra = ["date_of_birth_index"] if _has_blind_index(model) else []
            rows = list(batch.values_list("pk", *[f.attname for f in fields], *extra)[:batch_size])
            if not rows:
                break
            with transaction.atomic(using=alias):
                for pk, *columns in rows:
                    values, stored_index = columns[: len(fields)], (columns[len(fields)] if extra else "")
                    changes: dict[str, str] = {}
                    for enc_field, token in zip(fields, values, strict=True):
                        if not token:
                            continue
                        current = ring.current(enc_field.purpose)
                        if ring.key_id_of(token) == current.key_id:
                            continue
                        aad = _aad(model, enc_field, pk)
                        plaintext = ring.unseal(token, purpose=enc_field.purpose, aad=aad)
                        changes[enc_field.attname] = ring.seal(plaintext, purpose=enc_field.purpose, aad=aad)
                    if stored_index:
                        changes.update(_rebuilt_index(model, pk, values, fields, stored_index))
                    if changes:
                        manager.filter(pk=pk).update(**changes)
                        report.values_resealed += sum(1 for k in changes if not k.endswith("_index"))
                        report.indexes_rebuilt += sum(1 for k in changes if k.endswith("_index"))
                        report.per_model[model._meta.label] = report.per_model.get(model._meta.label, 0) + 1
            done += len(rows)
            report.rows_seen += len(rows)
            last_pk = rows[-1][0]
            if progress:
                progress(model._meta.label, done, total)
    return report


def _has_blind_index(model: type[Model]) -> bool:
    return any(f.name == "date_of_birth_index" for f in model._meta.concrete_fields)


def _rebuilt_index(
    model: type[Model], pk: object, values: list[str], fields: list[EncryptedTextField], stored: str
) -> dict[str, str]:
    """Blind indexes follow the index key: recompute one made under an older key."""
    ring = keyring()
    if stored.split(":", 1)[0] == ring.current("index").key_id:
        return {}
    dob_field = next(f for f in fields if f.name == "date_of_birth")
    token = values[fields.index(dob_field)]
    plaintext = ring.unseal(token, purpose="field", aad=_aad(model, dob_field, pk))
    return {"date_of_birth_index": blind_index(plaintext)}
