"""Deployment checks (``manage.py check --deploy``): transport security to the databases, Redis
and the audit witness."""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from teletherapy.dbroles import role_problems


def _local(host: str | None) -> bool:
    if not host or host == "localhost" or host.startswith("/"):
        return True  # a Unix socket, or this machine
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@register(Tags.security, deploy=True)
def transport_checks(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    found = []
    for alias, database in settings.DATABASES.items():
        if "postgresql" not in database.get("ENGINE", "") or _local(database.get("HOST")):
            continue
        if database.get("OPTIONS", {}).get("sslmode") != "verify-full":
            found.append(
                Warning(
                    f"The {alias!r} database at {database.get('HOST')} is reached without verified TLS.",
                    hint="Add ?sslmode=verify-full&sslrootcert=/path/to/ca.pem to its URL.",
                    id="teletherapy.W001",
                )
            )
    redis = urlsplit(settings.REDIS_URL or "")
    if settings.REDIS_URL and redis.scheme != "rediss" and not _local(redis.hostname):
        found.append(
            Warning(
                f"Redis at {redis.hostname} is reached without TLS.",
                hint="Use a rediss:// URL, with REDIS_CA_FILE naming the CA that signed the server's certificate.",
                id="teletherapy.W002",
            )
        )
    witness = settings.AUDIT_WITNESS_URL
    if not witness:
        found.append(
            Warning(
                "The audit trail has no off-host witness: someone who controls the database could rewrite it unseen.",
                hint="Set AUDIT_WITNESS_URL=syslog+tls://collector:6514 (and AUDIT_WITNESS_CA_FILE).",
                id="teletherapy.W003",
            )
        )
    elif not witness.startswith("syslog+tls://"):
        found.append(
            Warning(
                "The audit witness is reached without TLS.",
                hint="Use syslog+tls://host:6514.",
                id="teletherapy.W004",
            )
        )
    return found


@register(Tags.database, deploy=True)
def role_checks(app_configs: Any = None, databases: Any = None, **kwargs: Any) -> list[Error]:
    """``check --deploy --database default``: the runtime role could rewrite the audit trail."""
    from django.db import connections

    found = []
    for alias in databases or []:
        for problem in role_problems(connections[alias]):
            found.append(
                Error(
                    f"{alias}: {problem}.",
                    hint="Connect as the runtime role; give the owner's URL to migrate only (MIGRATION_DATABASE_URL).",
                    id="teletherapy.E001",
                )
            )
    return found


@register(Tags.security, deploy=True)
def passkey_checks(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Passkeys are bound to SITE_URL: its host is their relying party, its origin the only one
    accepted. It must be an https:// host name this server answers for."""
    site = urlsplit(settings.SITE_URL or "")
    found = []
    if site.scheme != "https" or not site.hostname:
        found.append(
            Error(
                f"SITE_URL ({settings.SITE_URL!r}) is not an https:// address: passkeys and links would not work.",
                hint="Set SITE_URL=https://therapy.example.org, the address people open.",
                id="teletherapy.E002",
            )
        )
    elif site.hostname not in settings.ALLOWED_HOSTS and "*" not in settings.ALLOWED_HOSTS:
        found.append(
            Error(
                f"SITE_URL's host {site.hostname!r} is not in ALLOWED_HOSTS: passkeys made for it could not be used.",
                hint="Add it to ALLOWED_HOSTS, or correct SITE_URL.",
                id="teletherapy.E003",
            )
        )
    return found
