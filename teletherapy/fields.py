"""A model field whose value is sealed with the key ring before it reaches the database.

The associated data is ``app_label.model.field:primary key``, so the model must have its primary
key before the first save (use a UUID primary key with a default), or name with ``aad_field``
another unique field that is set before the save (a one-to-one key, say). Values are opened lazily, on
first attribute access, because only then is the row's identity at hand.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

from teletherapy.keyring import CiphertextIntegrityError, keyring


class Sealed(str):
    """A value as it came from the database, not yet opened."""

    __slots__ = ()


class _EncryptedAttribute(DeferredAttribute):
    def __get__(self, instance: Any, cls: Any = None) -> Any:
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, Sealed):
            field: EncryptedTextField = self.field  # type: ignore[assignment]
            value = field.open(instance, value)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance: Any, value: Any) -> None:
        # Being a data descriptor makes every read pass through __get__, even when the
        # instance dict already holds the (sealed) value.
        instance.__dict__[self.field.attname] = value


class EncryptedTextField(models.TextField):
    descriptor_class = _EncryptedAttribute

    def __init__(self, *args: Any, purpose: str = "field", aad_field: str | None = None, **kwargs: Any) -> None:
        self.purpose = purpose
        self.aad_field = aad_field
        # "app_label.model.field:" per model class, the fixed part of each value's associated data.
        self._aad_prefixes: dict[type, str] = {}
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> Any:
        name, path, args, kwargs = super().deconstruct()
        if self.purpose != "field":
            kwargs["purpose"] = self.purpose
        if self.aad_field is not None:
            kwargs["aad_field"] = self.aad_field
        return name, path, args, kwargs

    def associated_data(self, instance: models.Model) -> bytes:
        pk = instance.pk if self.aad_field is None else getattr(instance, self.aad_field)
        if pk is None:
            raise ValueError(f"{type(instance).__name__} needs its identity before an encrypted field is sealed.")
        prefix = self._aad_prefixes.get(type(instance))
        if prefix is None:
            meta = instance._meta
            prefix = self._aad_prefixes[type(instance)] = f"{meta.app_label}.{meta.model_name}.{self.name}:"
        return f"{prefix}{pk}".encode()

    def open(self, instance: models.Model, token: str) -> str:
        aad = self.associated_data(instance)
        try:
            return keyring().unseal(token, purpose=self.purpose, aad=aad)
        except CiphertextIntegrityError as exc:
            exc.model_label = instance._meta.label  # type: ignore[attr-defined]
            exc.object_id = str(instance.pk)  # type: ignore[attr-defined]
            exc.field_name = self.name  # type: ignore[attr-defined]
            raise

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Any:
        if value is None:
            return None
        return Sealed(value)

    def pre_save(self, model_instance: models.Model, add: bool) -> Any:
        value = model_instance.__dict__.get(self.attname)
        if value is None:
            return None
        if isinstance(value, Sealed):
            return str(value)
        return keyring().seal(str(value), purpose=self.purpose, aad=self.associated_data(model_instance))

    def get_prep_value(self, value: Any) -> Any:
        # pre_save has already sealed the value; anything else reaching here is a lookup,
        # which cannot work on ciphertext and must not silently match nothing.
        if value is None or (isinstance(value, str) and value.startswith("tt1:")):
            return value
        raise TypeError("Encrypted fields cannot be used in queries.")
