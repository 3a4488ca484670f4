"""Where chart documents are stored, as the environment says: the local disk (the default), or an
S3-compatible bucket (pip install '.[s3]'). Either holds ciphertext only: documents are sealed
with the key ring before they reach the store (records/files.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from teletherapy.env import envstr, require


def documents_storage(kind: str, data_dir: Path) -> dict[str, Any]:
    if kind == "s3":
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": require("DOCUMENT_S3_BUCKET", envstr("DOCUMENT_S3_BUCKET")),
                "endpoint_url": envstr("DOCUMENT_S3_ENDPOINT_URL") or None,
                "region_name": envstr("DOCUMENT_S3_REGION") or None,
                "default_acl": None,
                "file_overwrite": False,
                "querystring_auth": True,  # never public: files are fetched by this process only
            },
        }
    if kind == "local":
        return {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(Path(envstr("DOCUMENTS_DIR") or data_dir / "documents"))},
        }
    raise ImproperlyConfigured("DOCUMENT_STORE is 'local' or 's3'.")
