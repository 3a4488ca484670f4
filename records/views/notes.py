"""Progress notes: writing, reading, editing, signing, sharing and addenda."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from records import services
from records.documented import session_documented, sessions_to_document
from records.forms import (
    AddendumForm,
    NoteForm,
)
from records.models import ClientChart, NoteTemplate, ProgressNote
from records.selectors import (
    Access,
    Need,
    chart_get_for_user,
    note_get_for_user,
)
from records.views.base import audit_read
from teletherapy.confirm import ask, confirmed
from teletherapy.context import context_of
from teletherapy.errors import Conflict, NotVisible, ServiceError, error_text


def _sessions_offered(request: AuthedRequest, chart: ClientChart, note: ProgressNote | None = None) -> list:
    """The sessions the author can link the note to; a draft's own session stays on offer."""
    author = note.author if note is not None else request.user
    offered = sessions_to_document(client=chart.client, therapist=author)
    if note is not None and note.session_id and all(s.id != note.session_id for s in offered):
        linked = session_documented(client=chart.client, therapist=author, session_id=note.session_id)
        if linked is not None:
            offered.append(linked)
    return offered


def _service_error(request: AuthedRequest, form: NoteForm, error: ServiceError) -> None:
    form.add_error(error.field if error.field in form.fields else None, error_text(request, error))


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def note_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.CLINICAL)
    if access is not Access.CARE_TEAM:
        raise NotVisible("records.clientchart", chart_id)
    template = request.GET.get("template") or request.POST.get("template") or NoteTemplate.SOAP
    if template not in NoteTemplate.values:
        template = NoteTemplate.SOAP
    offered = _sessions_offered(request, chart)
    chosen = request.GET.get("session", "")
    form = NoteForm(
        request.POST or None,
        template=template,
        sessions=offered,
        initial={"session": chosen if any(str(s.id) == chosen for s in offered) else ""},
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            note = services.note_create(
                actor=request.user,
                chart=chart,
                access=access,
                template=template,
                sections=form.sections(),
                context=context_of(request),
                **form.service(),
            )
        except ServiceError as error:
            _service_error(request, form, error)
            status = 400
        else:
            messages.success(request, "Draft saved.")
            return redirect("records:note", note.pk)
    elif request.method == "POST":
        status = 400
    context = {"chart": chart, "form": form, "template": template, "autosave": autosave_addresses(chart)}
    return render(request, "records/note_edit.html", context, status=status)


def autosave_addresses(chart: object) -> dict[str, str]:
    """Where the note editor saves a draft as it is typed (static/js/note_draft.js): the chart's
    notes in the API to create one, then the note's own address in the API and among the pages."""
    placeholder = f"{uuid.UUID(int=0)}/"
    return {
        "create": reverse("api-records-notes", args=[chart.pk]),  # type: ignore[attr-defined]
        "notes": reverse("api-records-note", args=[uuid.UUID(int=0)]).removesuffix(placeholder),
        "pages": reverse("records:note", args=[uuid.UUID(int=0)]).removesuffix(placeholder),
    }


@role_required(Role.THERAPIST, Role.CLIENT, Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def note_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    note, access = note_get_for_user(user=request.user, note_id=note_id)
    chart = note.chart
    editable = access is Access.CARE_TEAM and note.signed_at is None and note.author_id == request.user.pk
    sections = json.loads(note.body)
    form = NoteForm(
        request.POST if request.method == "POST" else None,
        template=note.template,
        sessions=_sessions_offered(request, chart, note) if editable else [],
        initial={
            **sections,
            "version": note.version,
            "session": str(note.session_id or ""),
            "service_date": note.service_date,
            "minutes": note.minutes,
        },
    )
    status = 200
    if request.method == "POST":
        if access is Access.CARE_TEAM and note.author_id == request.user.pk and note.signed_at is not None:
            raise Conflict("A signed note is locked. Add an addendum instead.", code="signed")
        if not editable:
            raise NotVisible("records.progressnote", note_id)
        if form.is_valid():
            try:
                services.note_update(
                    actor=request.user,
                    note=note,
                    sections=form.sections(),
                    expected_version=form.cleaned_data.get("version") or 0,
                    context=context_of(request),
                    **form.service(),
                )
            except services.NoteConflict as conflict:
                form.add_error(None, conflict.message)
                status = 409
            except ServiceError as error:
                _service_error(request, form, error)
                status = 400
            else:
                messages.success(request, "Draft saved.")
                return redirect("records:note", note.pk)
        else:
            status = 400
    audit_read(request, Action.NOTE_VIEW, note, chart, access)
    addenda = list(note.addenda.select_related("author"))
    context = {
        "note": note,
        "session": session_documented(client=chart.client, therapist=note.author, session_id=note.session_id)
        if note.session_id
        else None,
        "chart": chart,
        "sections": sections,
        "editable": editable,
        "form": form,
        "autosave": autosave_addresses(chart) if editable else None,
        "addenda": addenda,
        "addendum_form": AddendumForm(),
        "care_team": access is Access.CARE_TEAM,
        "portal": access in (Access.CLIENT, Access.GUARDIAN),
    }
    return render(request, "records/note.html", context, status=status)


def _note_action(request: AuthedRequest, note_id: str) -> ProgressNote:
    return note_get_for_user(user=request.user, note_id=note_id, write=True)[0]


def _note_step(request: AuthedRequest, note_id: str, step: Callable[..., object], done: str) -> HttpResponse:
    """Run one signing/sharing step on a note and come back to it with the outcome shown."""
    note = _note_action(request, note_id)
    try:
        step(actor=request.user, note=note, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, done)
    return redirect("records:note", note.pk)


@role_required(Role.THERAPIST)
@require_POST
def note_sign_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    if not confirmed(request):
        _note_action(request, note_id)  # the door first: nobody is asked about a note they cannot reach
        return ask(
            request,
            title="Sign and lock this note?",
            consequences=[
                "sign the note in your name, with today's date and time;",
                "lock it: from now on it cannot be edited, only added to with signed addenda.",
            ],
            button="Sign and lock",
            back=reverse("records:note", args=[note_id]),
            danger=False,
        )
    return _note_step(request, note_id, services.note_sign, "Signed. The note is now locked; changes go in addenda.")


@role_required(Role.THERAPIST)
@require_POST
def note_share_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    if not confirmed(request):
        note = _note_action(request, note_id)
        return ask(
            request,
            title="Share this note with the client?",
            consequences=[
                f"let {note.chart.client.full_name} read this note in their portal, and download it with their record;",
                "let a guardian read it too, where the chart allows guardians to read shared notes.",
            ],
            button="Share with the client",
            back=reverse("records:note", args=[note_id]),
            undo="You can stop sharing it later; what they read meanwhile stays in their access log.",
            danger=False,
        )
    return _note_step(request, note_id, services.note_share, "Shared: the client can read this note in their portal.")


@role_required(Role.THERAPIST)
@require_POST
def note_unshare_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    return _note_step(
        request, note_id, services.note_unshare, "No longer shared: the client cannot read this note from now on."
    )


@role_required(Role.THERAPIST)
@require_POST
def note_addendum_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    note = _note_action(request, note_id)
    form = AddendumForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Write the addendum first.")
        return redirect("records:note", note.pk)
    try:
        services.note_addendum(
            actor=request.user, note=note, body=form.cleaned_data["body"], context=context_of(request)
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "Addendum signed and added.")
    return redirect("records:note", note.pk)
