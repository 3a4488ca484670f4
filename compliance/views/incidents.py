"""The incident pages: anyone reports a concern and follows it; admins triage, list who was
affected, send the notices and close it. Thin adapters over compliance/services/incidents.py."""

from __future__ import annotations

import csv
import io
from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.models import Role, User
from accounts.rules import mfa_required
from accounts.types import AuthedRequest
from compliance import incident_rules as rules
from compliance import selectors
from compliance.models import IncidentSource, Vendor
from compliance.services import incident_notices as notices
from compliance.services import incident_people as people
from compliance.services import incidents
from sessions.regions import REGIONS
from teletherapy.context import context_of
from teletherapy.csv_cells import neutral_rows
from teletherapy.errors import Denial, ServiceError, error_text

# Admin actions on the incident page: the form's "action" -> what it does.
ADMIN_ACTIONS = {
    "triage": lambda a, i, d, r: incidents.incident_triage(actor=a, incident=i, fields=d, context=context_of(r)),
    "find": lambda a, i, d, r: people.affected_find(actor=a, incident=i, fields=d, context=context_of(r)),
    "person": lambda a, i, d, r: people.affected_set(actor=a, incident=i, fields=d, context=context_of(r)),
    "letter": lambda a, i, d, r: incidents.incident_letter(actor=a, incident=i, fields=d, context=context_of(r)),
    "delay": lambda a, i, d, r: incidents.incident_delay(actor=a, incident=i, fields=d, context=context_of(r)),
    "authority": lambda a, i, d, r: notices.notice_record(actor=a, incident=i, fields=d, context=context_of(r)),
    "close": lambda a, i, d, r: incidents.incident_status(actor=a, incident=i, fields=d, context=context_of(r)),
    "reopen": lambda a, i, d, r: incidents.incident_status(actor=a, incident=i, fields=d, context=context_of(r)),
}
DONE = {
    "triage": "Triage saved.",
    "find": "The list of people affected was updated.",
    "person": "Saved.",
    "letter": "The letter was saved.",
    "delay": "The delay was recorded; the deadlines moved.",
    "authority": "The notice was recorded.",
    "close": "The incident was closed. It is kept, and can be reopened.",
    "reopen": "The incident was reopened.",
    "message": "Your message was added.",
}


@mfa_required
@require_GET
def incident_list_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    rows = []
    for incident in selectors.incidents_visible_to(user).select_related("reporter"):
        state = rules.incident_state(incident)
        rows.append({"incident": incident, "state": state, "deadlines": state.deadlines()})
    context = {
        "rows": rows,
        "is_admin": user.has_role(Role.ADMIN),
        "today": timezone.localdate(),
        "year": timezone.localdate().year,
        "sources": dict(IncidentSource.choices),
    }
    return render(request, "incidents/list.html", context)


def _report_form(request: AuthedRequest, template: str, report: Any, **context: Any) -> HttpResponse:
    """A reporting form: on a good POST, ``report()`` gives the incident and the message to show;
    a bad one shows the form again with what was typed and the error."""
    error = None
    if request.method == "POST":
        try:
            incident, said = report()
        except Denial:
            raise
        except ServiceError as problem:
            error = problem
        else:
            messages.success(request, said)
            return redirect("incidents:detail", incident_id=incident.pk)
    shown = {"error": error, "text": error_text(request, error) if error else "", "data": request.POST, **context}
    return render(request, template, shown)


@mfa_required
@require_http_methods(["GET", "POST"])
def incident_new_view(request: AuthedRequest) -> HttpResponse:
    def report() -> tuple[Any, str]:
        incident = incidents.incident_report(
            actor=request.user, summary=request.POST.get("summary"), happened_on=request.POST.get("happened_on"),
            context=context_of(request),
        )  # fmt: skip
        return incident, (
            f"Thank you: your concern was received as number {incident.number}. We sent you an e-mail "
            "acknowledgement, and you can follow it here."
        )

    return _report_form(request, "incidents/new.html", report)


@mfa_required
@require_http_methods(["GET", "POST"])
def lost_device_view(request: AuthedRequest) -> HttpResponse:
    def report() -> tuple[Any, str]:
        incident, ended = people.device_lost(
            actor=request.user,
            context=context_of(request),
            keep_session_key=request.session.session_key or "",
            description=request.POST.get("description"),
            lost_on=request.POST.get("lost_on"),
        )
        return incident, (
            f"Done: {ended} other signed-in session{'s' if ended != 1 else ''} ended, and the practice was told "
            f"(number {incident.number}). Change your password if the device could be opened."
        )

    return _report_form(request, "incidents/lost_device.html", report, today=timezone.localdate())


@mfa_required
@require_http_methods(["GET", "POST"])
def incident_detail_view(request: AuthedRequest, incident_id: str) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        return _act(request, incident_id)
    incident = selectors.incident_get_for_user(user=user, incident_id=incident_id)
    state = incidents.incident_read(user=user, incident=incident, context=context_of(request))
    if not user.has_role(Role.ADMIN):
        return render(
            request,
            "incidents/report.html",
            {"incident": incident, "state": state, "messages_shown": incidents.reporter_messages(state)},
        )
    return render(request, "incidents/manage.html", _manage_context(user, state))


def _act(request: AuthedRequest, incident_id: str) -> HttpResponse:
    user = request.user
    data: dict[str, Any] = dict(request.POST.items())
    action = data.get("action", "")
    done = DONE.get(action, "Saved.")
    try:
        if action == "message":
            incident = selectors.incident_get_for_user(user=user, incident_id=incident_id)
            incidents.incident_message(
                actor=user, incident=incident, text=data.get("text"), context=context_of(request)
            )
        elif action == "send":
            incident = selectors.incident_get_for_admin(user=user, incident_id=incident_id)
            sent = notices.notices_send(
                actor=user, incident=incident, method=data.get("method"),
                person_ids=request.POST.getlist("person_id") or None, context=context_of(request),
            )  # fmt: skip
            done = f"{sent} notice{'s' if sent != 1 else ''} sent and recorded."
        else:
            incident = selectors.incident_get_for_admin(user=user, incident_id=incident_id)
            if action not in ADMIN_ACTIONS:
                raise ServiceError("Choose what to do.", field="action")
            ADMIN_ACTIONS[action](user, incident, data, request)
    except Denial:
        raise
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, done)
    return redirect("incidents:detail", incident_id=incident_id)


FACTORS = list(rules.FACTORS.items())


def _manage_context(user: User, state: rules.IncidentState) -> dict[str, Any]:
    practice_id = user.practice_id
    members = User.objects.filter(practice_id=practice_id).order_by("full_name")
    clients = members.filter(role_grants__role=Role.CLIENT).distinct()
    triage = state.triage
    first = next(iter(state.unnotified), None) or next(iter(state.included), None)
    preview = rules.letter_text(state, first) if triage and first and not state.missing_letter_elements() else ""
    today = timezone.localdate()
    people = sorted(state.people.values(), key=lambda p: (p.state == "excluded", p.name))
    return {
        "incident": state.incident,
        "state": state,
        "triage": triage,
        "today": today,
        "deadlines": [(d, d.state(today), d.days_left(today), -d.days_left(today)) for d in state.deadlines()],
        "people": people,
        "waiting_email": [p for p in state.unnotified if p.method == "email"],
        "waiting_post": [p for p in state.unnotified if p.method == "post"],
        "members": members,
        "clients": clients,
        "vendors": Vendor.objects.filter(practice_id=practice_id),
        "regions": [r for r in REGIONS if r[0].startswith("US-")],
        "exclusions": rules.EXCLUSIONS,
        "outcomes": rules.OUTCOMES,
        "factors": [
            (key, label, triage.factors.get(key, "") if triage else "") for key, label in rules.FACTORS.items()
        ],
        "breach_types": rules.BREACH_TYPES,
        "locations": rules.LOCATIONS,
        "letter_fields": [(key, label, state.letter.get(key, "")) for key, label in rules.LETTER_ELEMENTS.items()],
        "missing": state.missing_letter_elements(),
        "preview": preview,
        "person_states": rules.PERSON_STATES,
        "methods": rules.METHODS,
        "suggestion": rules.safe_harbor_suggestion(data_sealed=triage.data_sealed, keys_exposed=triage.keys_exposed)
        if triage
        else "",
        "entries": list(reversed(state.entries)),
        "names": dict(members.values_list("pk", "full_name")),
        "sources": dict(IncidentSource.choices),
        "messages_shown": incidents.reporter_messages(state),
    }


@mfa_required
@require_GET
def letters_view(request: AuthedRequest, incident_id: str) -> HttpResponse:
    """The letters still to post, one per page when printed."""
    incident = selectors.incident_get_for_admin(user=request.user, incident_id=incident_id)
    state = incidents.incident_read(user=request.user, incident=incident, context=context_of(request))
    waiting = [p for p in state.unnotified if p.method == "post"]
    ready = state.notify and not state.missing_letter_elements()
    letters = [(person, rules.letter_text(state, person)) for person in waiting] if ready else []
    return render(request, "incidents/letters.html", {"incident": incident, "letters": letters, "ready": ready})


@mfa_required
@require_GET
def yearly_log_view(request: AuthedRequest) -> HttpResponse:
    """The yearly breach log for HHS, as CSV."""
    year = request.GET.get("year") or str(timezone.localdate().year - 1)
    rows = notices.yearly_log(actor=request.user, year=year, context=context_of(request))
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(rules.LOG_COLUMNS)
    writer.writerows(neutral_rows(rows))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="breach-log-{int(year)}.csv"'
    response["Cache-Control"] = "no-store"
    return response
