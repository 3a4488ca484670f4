from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from urllib.parse import urlencode

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.models import Role, User
from accounts.rules import mfa_required, role_required
from accounts.selectors import people_acted_for
from accounts.types import AuthedRequest
from audit.checkpoints import public_key_pem
from audit.models import Action, AuditEvent, AuditFlag, Outcome
from audit.services import audit_flag_acknowledge, audit_record
from oversight.access_log import record_access_for
from oversight.console import action_choices, events_for_admin, page_of, parse_filters, people_of, shown
from oversight.sentences import sentence
from teletherapy.context import context_of
from teletherapy.csv_cells import neutral_row
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.pagination import paginate


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_GET
def record_access_view(request: AuthedRequest) -> HttpResponse:
    """Who opened my record (or, for a guardian, the minor's)."""
    user = request.user
    people = people_acted_for(user=user)
    if not people and not request.GET.get("client"):  # a guardian with no minor in their care (yet)
        return render(request, "audit/record_access.html", {"client": None, "people": [], "entries": []})
    # Their own record first; a guardian who is not a client themself, their first ward's.
    client_id = request.GET.get("client") or str(people[0].pk)
    client = next((p for p in people if str(p.pk) == client_id), None)
    if client is None:
        raise NotVisible("accounts.user", client_id)
    before = request.GET.get("before")
    entries, more = record_access_for(
        client=client, reader=user, before=int(before) if before and before.isdigit() else None
    )
    audit_record(
        action=Action.RECORD_ACCESS_LOG_VIEW,
        actor=user,
        context=context_of(request),
        target=client,
        subject_client_id=client.pk,
    )
    context = {"client": client, "people": people, "entries": entries, "more": more, "mine": client.pk == user.pk}
    return render(request, "audit/record_access.html", context)


# The admin review console ----------------------------------------------------------------------

EXPORT_COLUMNS = [
    "seq",
    "occurred_at",
    "actor_id",
    "actor_name",
    "actor_role",
    "action",
    "target_type",
    "target_id",
    "subject_client_id",
    "subject_client_name",
    "outcome",
    "flagged",
    "ip_address",
    "user_agent",
    "request_id",
    "details",
    "mac",
]


def _admin_only(request: AuthedRequest) -> None:
    # Only admins of this practice may know the console exists.
    if not request.user.has_role(Role.ADMIN):
        raise NotVisible("audit.console")


@mfa_required
@require_GET
def console_view(request: AuthedRequest) -> HttpResponse:
    _admin_only(request)
    filters = parse_filters(request.GET)
    before = request.GET.get("before")
    events, more = page_of(
        events_for_admin(admin=request.user, filters=filters),
        before=int(before) if before and before.isdigit() else None,
    )
    audit_record(
        action=Action.AUDIT_CONSOLE_VIEW,
        actor=request.user,
        context=context_of(request),
        details={"filters": json.dumps(filters.as_query())},
    )
    people = people_of(admin=request.user)
    context = {
        "events": [
            (e, people.get(e.actor_id or 0), people.get(e.subject_client_id or 0), sentence(e, people)) for e in events
        ],
        "more": more,
        "filters": filters,
        "query": filters.as_query(),
        "query_string": urlencode(filters.as_query()),
        "actions": action_choices(),
        "outcomes": Outcome.choices,
        "people": sorted(people.values(), key=lambda u: u.full_name),
    }

    context["public_key"] = public_key_pem()
    return render(request, "audit/console.html", context, status=400 if filters.errors else 200)


@mfa_required
@require_GET
def console_event_view(request: AuthedRequest, event_id: int) -> HttpResponse:
    _admin_only(request)
    event = AuditEvent.objects.filter(pk=event_id, practice_id=request.user.practice_id).first()
    if event is None:
        raise NotVisible("audit.auditevent", event_id)
    audit_record(action=Action.AUDIT_CONSOLE_VIEW, actor=request.user, context=context_of(request), target=event)
    event = shown(event)
    people = people_of(admin=request.user)
    context = {
        "event": event,
        "actor": people.get(event.actor_id or 0),
        "client": people.get(event.subject_client_id or 0),
    }
    return render(request, "audit/event.html", context)


class _Echo:
    def write(self, value: str) -> str:
        return value


@mfa_required
@require_GET
def console_export_view(request: AuthedRequest, fmt: str) -> StreamingHttpResponse | HttpResponse:
    """The filtered set as CSV or JSON lines, streamed row by row; the export itself is audited."""
    _admin_only(request)
    if fmt not in ("csv", "json"):
        raise Http404
    filters = parse_filters(request.GET)
    if filters.errors:
        return render(request, "audit/console.html", {"filters": filters, "events": [], "query": {}}, status=400)
    events = events_for_admin(admin=request.user, filters=filters)
    audit_record(
        action=Action.AUDIT_EXPORT,
        actor=request.user,
        context=context_of(request),
        details={"format": fmt, "filters": json.dumps(filters.as_query())},
    )

    people = people_of(admin=request.user)

    def name_of(user_id: int | None) -> str:
        person = people.get(user_id or 0)
        return person.full_name if person else ""

    def rows() -> Iterator[dict[str, object]]:
        for stored in events.iterator(chunk_size=2000):
            event = shown(stored)
            row = {name: getattr(event, name) for name in EXPORT_COLUMNS if hasattr(event, name)}
            row["actor_name"] = name_of(event.actor_id)
            row["subject_client_name"] = name_of(event.subject_client_id)
            row["occurred_at"] = event.occurred_at.isoformat()
            row["details"] = json.dumps(event.details, sort_keys=True)
            yield row

    if fmt == "csv":
        writer = csv.DictWriter(_Echo(), fieldnames=EXPORT_COLUMNS)

        def csv_lines() -> Iterator[str]:
            yield writer.writeheader()
            for row in rows():
                yield writer.writerow(neutral_row(row))

        response = StreamingHttpResponse(csv_lines(), content_type="text/csv; charset=utf-8")
    else:
        response = StreamingHttpResponse(
            (json.dumps(row) + "\n" for row in rows()), content_type="application/x-ndjson"
        )
    response["Content-Disposition"] = f'attachment; filename="audit-log.{"csv" if fmt == "csv" else "jsonl"}"'
    return response


@mfa_required
@require_GET
def client_report_view(request: AuthedRequest, client_id: int) -> HttpResponse:
    """Every access to one client's record over a period: the accounting of disclosures, printable."""
    _admin_only(request)
    client = User.objects.filter(
        pk=client_id, practice_id=request.user.practice_id, role_grants__role=Role.CLIENT
    ).first()
    if client is None:
        raise NotVisible("accounts.user", client_id)
    filters = parse_filters(request.GET)
    filters.client = client.pk
    # Oldest first, as an accounting of disclosures reads; printed a page at a time.
    page = paginate(request, events_for_admin(admin=request.user, filters=filters), key="id")
    events = [shown(e) for e in page.items]
    audit_record(
        action=Action.AUDIT_CLIENT_REPORT,
        actor=request.user,
        context=context_of(request),
        target=client,
        subject_client_id=client.pk,
    )
    people = people_of(admin=request.user)
    context = {
        "client": client,
        "events": [(e, people.get(e.actor_id or 0)) for e in events],
        "filters": filters,
        "page": page,
    }
    return render(request, "audit/client_report.html", context)


@mfa_required
def flags_view(request: AuthedRequest) -> HttpResponse:
    """The admins' queue of alerts. Acknowledging one, with a note, is recorded as a new event."""
    from django.contrib import messages
    from django.shortcuts import redirect

    _admin_only(request)
    flags = AuditFlag.objects.filter(practice_id=request.user.practice_id).select_related("acknowledgement")
    if request.method == "POST":
        flag = flags.filter(
            pk=request.POST.get("flag", "0") if str(request.POST.get("flag", "")).isdigit() else 0
        ).first()
        if flag is None:
            raise Http404
        try:
            audit_flag_acknowledge(
                actor=request.user, flag=flag, note=request.POST.get("note", ""), context=context_of(request)
            )
        except ServiceError as error:
            messages.error(request, error_text(request, error))
        else:
            messages.success(request, "Acknowledged.")
        return redirect("audit:flags")
    people = people_of(admin=request.user)
    page = paginate(request, flags, key="-created_at")
    rows = [(flag, people.get(flag.actor_id or 0), getattr(flag, "acknowledgement", None)) for flag in page.items]
    return render(request, "audit/flags.html", {"rows": rows, "people": people, "page": page})
