"""The privacy and security fact sheet of a practice, computed from the running system.

Every statement is worked out from the settings and the database at the moment it is shown, so
it changes when they change; nobody types it. Each time the sheet is computed (when it is shown,
and daily by beat), a fact whose value differs from the last one recorded is appended to
``FactChange`` with the date: the sheet's "what changed and when".
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.duties import single_admin
from accounts.models import PasskeyDevice, Practice
from audit.models import LANES, Action, AuditEvent, VerificationRun, WitnessLane, chain_of
from compliance.inputs import hosts_of
from compliance.models import FactChange, Vendor
from compliance.selectors import breaches_notified_since
from operations.selectors import backup_status
from sessions.policy import policy_for
from sessions.services.requests import KEPT_UNANSWERED
from teletherapy.keyring import keyring
from teletherapy.rotation import encrypted_models

SECTIONS = (
    ("sign_in", "Signing in"),
    ("encryption", "Encryption"),
    ("storage", "Where the data is kept"),
    ("video", "Video sessions"),
    ("audit", "Who saw what: the audit trail"),
    ("vendors", "Companies that handle client data"),
    ("retention", "How long things are kept"),
    ("ai", "Artificial intelligence"),
    ("psychotherapy", "Psychotherapy notes"),
    ("concerns", "If something goes wrong"),
)
# Software that would send data to an AI service if it were installed on this server.
AI_DISTRIBUTIONS = (
    "openai", "anthropic", "google-generativeai", "google-genai", "cohere", "mistralai", "groq",
    "langchain", "llama-index", "transformers", "huggingface-hub", "replicate", "ollama",
)  # fmt: skip


@dataclass(frozen=True)
class Fact:
    key: str
    section: str
    label: str
    value: str  # the statement; a change of it is recorded
    detail: str = ""  # how it is worked out, or what it means; not compared


def day_written(moment: Any) -> str:
    """A date, or the day of a moment, as people write it: 1 December 2026."""
    day = timezone.localtime(moment).date() if hasattr(moment, "hour") else moment
    return f"{day.day} {day:%B %Y}"


def _sign_in(practice: Practice) -> list[Fact]:
    enforced = "accounts.middleware.MFAEnforcementMiddleware" in settings.MIDDLEWARE
    kinds = [
        "a passkey (a phone, a security key or this device's screen lock)",
        "an authenticator app (a 6-digit code that changes every 30 seconds)",
        "a one-time backup code",
    ]
    in_use = PasskeyDevice.objects.filter(user__practice=practice).values("user").distinct().count()
    rules = []
    if practice.passkeys_required_for_staff:
        rules.append("staff must sign in with a passkey")
    if practice.passwordless_sign_in:
        rules.append("a passkey that checks who holds it may sign someone in without their password")
    idle = settings.SESSION_IDLE_TIMEOUT_SECONDS
    longest = settings.SESSION_ABSOLUTE_LIFETIME_SECONDS
    return [
        Fact(
            "sign_in.second_factor",
            "sign_in",
            "Second factor",
            "Required for every account, staff and clients alike, at every sign-in" if enforced else "Not required",
        ),
        Fact(
            "sign_in.factor_kinds",
            "sign_in",
            "Kinds of second factor",
            "; ".join(kinds).capitalize() + (f". At this practice {' and '.join(rules)}" if rules else ""),
            detail=f"Accounts of this practice with a passkey: {in_use}.",
        ),
        Fact(
            "sign_in.lockout",
            "sign_in",
            "Guessing passwords",
            f"After {settings.LOCKOUT_THRESHOLD} failed attempts an account is locked for a growing time",
        ),
        Fact(
            "sign_in.session",
            "sign_in",
            "Signing out",
            f"After {idle // 60} minutes without activity, and after {longest // 3600} hours at most",
        ),
    ]


def _encryption() -> list[Fact]:
    ring = keyring()
    sealed = sorted({str(model._meta.verbose_name_plural) for model, _ in encrypted_models()})
    last_rotation = (
        AuditEvent.objects.filter(action=Action.KEY_ROTATION, details__stage="finished")
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
        .first()
    )
    database_tls = all(
        database.get("OPTIONS", {}).get("sslmode") == "verify-full"
        or not database.get("HOST")
        or database.get("HOST") in ("localhost", "127.0.0.1", "::1")
        for database in settings.DATABASES.values()
    )
    https = settings.PRODUCTION and getattr(settings, "SECURE_HSTS_SECONDS", 0) > 0
    return [
        Fact(
            "encryption.at_rest",
            "encryption",
            "Stored data",
            "Sealed with AES-256-GCM, each value bound to its record, under keys kept outside the database"
            + ("" if ring.current("field") and ring.current("psychotherapy") else "; a key is missing"),
            detail=f"Sealed: {', '.join(sealed)}.",
        ),
        Fact(
            "encryption.rotated",
            "encryption",
            "Keys last changed",
            f"All stored data re-encrypted under new keys on {day_written(last_rotation)}"
            if last_rotation
            else "Not changed since this server was set up",
        ),
        Fact(
            "encryption.in_transit",
            "encryption",
            "On the network",
            ("Browsers reach this server over HTTPS only" if https else "This is a test server, not served over HTTPS")
            + (
                "; the server reaches its databases over verified TLS or on the same machine"
                if database_tls
                else "; a database is reached without TLS"
            ),
        ),
    ]


def _storage() -> list[Fact]:
    provider = getattr(settings, "HOSTING_PROVIDER", "") or ""
    region = getattr(settings, "HOSTING_REGION", "") or ""
    if provider or region:
        where = f"{provider or 'A provider not named'}, {region or 'region not named'}"
    else:
        where = "Not stated by whoever runs this server"
    engines = {str(db.get("ENGINE", "")).rsplit(".", 1)[-1] for db in settings.DATABASES.values()}
    kind = "PostgreSQL" if engines == {"postgresql"} else "SQLite files" if engines == {"sqlite3"} else "databases"
    # The dates go in the detail (not compared): a daily backup is not a change of the sheet.
    last_backup = (
        AuditEvent.objects.filter(action=Action.BACKUP_MADE)
        .order_by("-occurred_at")
        .values_list("occurred_at", flat=True)
    ).first()
    status = backup_status()
    if last_backup is None:
        backups, backed_up = "No backup has been made on this server yet", ""
    else:
        backups = "Made of both databases and every document, sealed with AES-256-GCM under a key of their own" + (
            "; the newest is overdue" if status.overdue else ""
        )
        backed_up = f"The last was made on {day_written(last_backup)}."
    drilled = status.last_good_drill
    if drilled is None:
        drill, drilled_on = "No backup has been restored in a drill on this server yet", ""
    else:
        drill = (
            "The newest backup is restored on its own into scratch copies, its audit trail verified "
            "and every document opened"
            + ("; the latest drill failed" if status.last_drill and status.last_drill.outcome != "ok" else "")
        )
        drilled_on = f"The last successful drill was on {day_written(drilled.finished_at)}."
    return [
        Fact("storage.hosting", "storage", "Hosting provider and region", where, detail="As stated by the operator."),
        Fact(
            "storage.databases",
            "storage",
            "Databases",
            f"Two separate {kind}: one for the record, one for psychotherapy notes",
        ),
        Fact("storage.backups", "storage", "Backups", backups, detail=backed_up),
        Fact("storage.drill", "storage", "Restore drill", drill, detail=drilled_on),
    ]


def _video(practice: Practice) -> list[Fact]:
    relay_hosts = hosts_of(list(settings.ICE_TURN_URLS))
    policy = policy_for(practice.pk)
    if policy.relay_only and relay_hosts:
        relay = (
            f"Always through the practice's relay at {', '.join(relay_hosts)}: no participant sees another's address"
        )
    elif relay_hosts:
        relay = (
            "Directly between the participants when their networks allow; "
            f"otherwise through the relay at {', '.join(relay_hosts)}"
        )
    else:
        relay = "Directly between the participants; no relay is configured"
    return [
        Fact(
            "video.media",
            "video",
            "Sound and picture",
            "Go from one participant's browser to the other's, encrypted with DTLS-SRTP; "
            "this server never receives them",
        ),
        Fact(
            "video.relay", "video", "Route", relay, detail="A relay passes the encrypted media on without opening it."
        ),
        Fact(
            "video.recording",
            "video",
            "Recording",
            "Sessions are never recorded: the platform has no way to record one",
            detail="Kept of a session: when it was, who joined and left.",
        ),
    ]


def audit_facts(practice: Practice) -> list[Fact]:
    run = VerificationRun.objects.order_by("-finished_at").first()
    first, last = chain_of(practice.pk), chain_of(practice.pk, LANES - 1)
    if run is None:
        verification = "Not checked yet"
    elif any(first <= chain <= last for chain in run.failed_chains):
        verification = f"Last checked on {day_written(run.finished_at)}: a problem was found, and the practice alerted"
    else:
        verification = f"Last checked on {day_written(run.finished_at)}: intact"
    witness_host = urlsplit(getattr(settings, "AUDIT_WITNESS_URL", "") or "").hostname
    delivered = (
        WitnessLane.objects.filter(chain__gte=first, chain__lte=last, checkpoint_seq__gt=0)
        .order_by("-delivered_at")
        .values_list("delivered_at", flat=True)
        .first()
    )
    if witness_host:
        # The collector's name stays off this public page: nobody needs it to judge the safeguard.
        witness = "Copied as it is written to a separate log server" + (
            f"; the last signed checkpoint reached it on {day_written(delivered)}" if delivered else ""
        )
    else:
        witness = "Not copied to a separate log server"
    return [
        Fact(
            "audit.what",
            "audit",
            "What is recorded",
            "Every opening of a record, every sign-in and every change, in a log that cannot be changed unseen; "
            "clients can see who opened their record",
        ),
        Fact("audit.verification", "audit", "Checked", verification),
        Fact(
            "audit.emergency",
            "audit",
            "Emergency access",
            "A therapist outside a client's care team may open the chart for 60 minutes in an emergency, giving a "
            "reason; it is flagged, the admins are told and the client sees it"
            + (
                ". This practice has a single admin, so a therapist account that admin makes can do this without "
                "a second admin confirming the account"
                if single_admin(practice.pk)
                else ". A therapist account an admin makes can do this only once a second admin confirms it"
            ),
        ),
        Fact("audit.witness", "audit", "Copy off this server", witness),
    ]


def _vendors(practice: Practice) -> list[Fact]:
    facts = []
    for vendor in Vendor.objects.filter(practice=practice).order_by("name"):
        state = vendor.baa_state()
        if state == "none":
            baa = "no signed Business Associate Agreement on file"
        elif state == "expired":
            baa = f"its Business Associate Agreement expired on {day_written(vendor.baa_expires_on)}"
        else:
            until = f", valid until {day_written(vendor.baa_expires_on)}" if vendor.baa_expires_on else ""
            baa = f"Business Associate Agreement signed on {day_written(vendor.baa_signed_on)}{until}"
        where = f"; data kept in {vendor.data_location}" if vendor.data_location else ""
        facts.append(
            Fact(
                f"vendors.{vendor.pk}",
                "vendors",
                vendor.name,
                f"{vendor.service}, handling {vendor.data_touched.lower()}{where}; {baa}",
            )
        )
    if not facts:
        facts.append(Fact("vendors.none", "vendors", "Vendors", "None recorded by the practice"))
    return facts


def _retention() -> list[Fact]:
    years = int(getattr(settings, "AUDIT_RETENTION_YEARS", 6))
    records = getattr(settings, "RECORD_RETENTION_YEARS", None)
    return [
        Fact("retention.audit", "retention", "The audit trail", f"At least {years} years; nothing deletes it"),
        Fact(
            "retention.records",
            "retention",
            "Clinical records",
            f"At least {records} years"
            if records
            else "As long as the law where the practice works requires; the platform deletes none",
        ),
        Fact(
            "retention.sign_in",
            "retention",
            "Signed-in sessions",
            f"Ended after {settings.SESSION_ABSOLUTE_LIFETIME_SECONDS // 3600} hours at most, then removed",
        ),
        Fact(
            "retention.first_requests",
            "retention",
            "Requests for a first session",
            f"Erased once the practice answers, or after {KEPT_UNANSWERED.days} days unanswered",
        ),
    ]


@functools.cache
def _installed() -> frozenset[str]:
    """The Python distributions installed here (they do not change while the process runs)."""
    return frozenset((dist.metadata["Name"] or "").lower() for dist in importlib.metadata.distributions())


def _ai() -> list[Fact]:
    installed = _installed()
    present = sorted(name for name in AI_DISTRIBUTIONS if name in installed)
    value = (
        f"Software for AI services is installed on this server: {', '.join(present)}"
        if present
        else "No AI service processes client data: none is configured or installed on this server"
    )
    return [Fact("ai.services", "ai", "AI services", value)]


def _psychotherapy() -> list[Fact]:
    main, apart = settings.DATABASES["default"], settings.DATABASES.get("psychotherapy", {})
    own_server = (apart.get("HOST"), apart.get("PORT")) != (main.get("HOST"), main.get("PORT"))
    where = "on a database server of their own" if own_server and apart.get("HOST") else "in a database of their own"
    return [
        Fact(
            "psychotherapy.kept_apart",
            "psychotherapy",
            "Kept apart",
            f"Stored {where}, under keys of their own; only the therapist who wrote one can read it; "
            "never part of a record copy or the client's portal",
        )
    ]


def _concerns(practice: Practice) -> list[Fact]:
    year_ago = timezone.now() - dt.timedelta(days=365)
    notified = breaches_notified_since(practice.pk, year_ago)
    return [
        Fact(
            "concerns.report",
            "concerns",
            "How to report a concern",
            "Sign in and choose \u201cReport a concern\u201d: it reaches only the practice's admins, you get an "
            "acknowledgement and can follow it there; a lost phone or computer is reported there too, which "
            "signs you out everywhere else at once",
        ),
        Fact(
            "concerns.notice",
            "concerns",
            "If a breach affects you",
            "You are told in writing within 60 days of its discovery, with what happened, what was involved and "
            "what to do; incident records are kept at least six years and never edited",
        ),
        Fact(
            "concerns.breaches",
            "concerns",
            "Breaches in the last 12 months",
            f"{notified} that needed notice" if notified else "None that needed notice",
        ),
    ]


def internal_hosts() -> set[str]:
    """Names of this server's own back-end machines (databases, cache, mail relay, the audit
    witness): the public sheet never prints one. The video relay is not among them: browsers
    reach it by name."""
    from urllib.parse import urlsplit as split

    hosts = {str(db.get("HOST") or "") for db in settings.DATABASES.values()}
    hosts.add(str(getattr(settings, "EMAIL_HOST", "") or ""))
    for url in (getattr(settings, "AUDIT_WITNESS_URL", ""), getattr(settings, "REDIS_URL", "")):
        hosts.add(split(str(url or "")).hostname or "")
    return {h for h in hosts if h and h not in ("localhost", "127.0.0.1", "::1")}


def _public(facts: list[Fact]) -> list[Fact]:
    """The sheet as published: an internal host named anywhere is said as "a server of the
    practice's own" instead."""
    hosts = sorted(internal_hosts(), key=len, reverse=True)
    if not hosts:
        return facts

    def scrub(text: str) -> str:
        for host in hosts:
            text = text.replace(host, "a server of the practice's own")
        return text

    return [Fact(fact.key, fact.section, scrub(fact.label), scrub(fact.value), scrub(fact.detail)) for fact in facts]


def practice_facts(practice: Practice) -> list[Fact]:
    return _public(_unscrubbed_facts(practice))


def _unscrubbed_facts(practice: Practice) -> list[Fact]:
    return [
        *_sign_in(practice),
        *_encryption(),
        *_storage(),
        *_video(practice),
        *audit_facts(practice),
        *_vendors(practice),
        *_retention(),
        *_ai(),
        *_psychotherapy(),
        *_concerns(practice),
    ]


def facts_record(practice: Practice, facts: list[Fact] | None = None) -> list[FactChange]:
    """Append a change for every fact whose value differs from the last one recorded."""
    facts = facts if facts is not None else practice_facts(practice)
    with transaction.atomic():
        Practice.objects.select_for_update().filter(pk=practice.pk).first()  # one recorder at a time
        latest: dict[str, str] = {}
        for key, value in (
            FactChange.objects.filter(practice_id=practice.pk).order_by("changed_at", "id").values_list("key", "value")
        ):
            latest[key] = value
        now = timezone.now()
        made = [
            FactChange(
                practice_id=practice.pk,
                key=fact.key,
                label=fact.label,
                value=fact.value,
                previous=latest.get(fact.key, ""),
                changed_at=now,
            )
            for fact in facts
            if latest.get(fact.key) != fact.value
        ]
        FactChange.objects.bulk_create(made)
    return made


def sections_of(facts: list[Fact]) -> list[tuple[str, list[Fact]]]:
    return [(title, [f for f in facts if f.section == key]) for key, title in SECTIONS]


CHANGES_SHOWN = 100


def sheet_of(practice: Practice) -> dict[str, object]:
    """The sheet as shown: today's facts (recorded, so a change is dated), and what changed when."""
    facts = practice_facts(practice)
    facts_record(practice, facts)
    history = FactChange.objects.filter(practice_id=practice.pk)
    published = history.order_by("changed_at").values_list("changed_at", flat=True).first()
    # The first statement of every fact at publication is one line ("first published"); what
    # came after, a new fact included, is listed one by one.
    after = history.exclude(previous="", changed_at=published) if published is not None else history
    changes = list(after.select_related("reconsent").order_by("-changed_at", "-id")[:CHANGES_SHOWN])
    return {
        "practice": practice,
        "facts": facts,
        "sections": sections_of(facts),
        "changes": changes,
        "published": published,
    }
