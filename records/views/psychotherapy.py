"""Psychotherapy notes: their author's alone."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from audit.services import audit_record
from records import services
from records.forms import PsychotherapyNoteForm
from records.selectors import (
    PSYCHOTHERAPY_WRITERS,
    Access,
    Need,
    chart_get_for_user,
    psychotherapy_note_get_for_author,
)
from records.views.base import audit_read
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def psychotherapy_new_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.CLINICAL)
    if access not in PSYCHOTHERAPY_WRITERS:
        raise NotVisible("records.clientchart", chart_id)
    form = PsychotherapyNoteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            note = services.psychotherapy_note_write(
                actor=request.user,
                chart=chart,
                access=access,
                body=form.cleaned_data["body"],
                context=context_of(request),
            )
        except ServiceError as error:
            messages.error(request, error_text(request, error))
        else:
            return redirect("records:psychotherapy_note", note.pk)
    if request.method == "POST" and form.is_valid():
        return redirect("records:chart", chart.pk)  # refused by the service: said on the chart
    # Its own page, reached by a deliberate step from the chart, with what it is and who reads it.
    # It names the client: one read of the chart's summary, as the chart page records.
    if request.method == "GET":
        audit_read(request, Action.CHART_VIEW, chart, chart, access, sections="summary")
    return render(
        request, "records/psychotherapy_new.html", {"chart": chart, "form": form}, status=400 if form.errors else 200
    )


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def psychotherapy_note_view(request: AuthedRequest, note_id: str) -> HttpResponse:
    note, chart = psychotherapy_note_get_for_author(user=request.user, note_id=note_id)
    access = Access.CARE_TEAM
    form = PsychotherapyNoteForm(request.POST or None, initial={"body": note.body})
    if request.method == "POST" and form.is_valid():
        services.psychotherapy_note_write(
            actor=request.user,
            chart=chart,
            access=access,
            body=form.cleaned_data["body"],
            context=context_of(request),
            note=note,
        )
        messages.success(request, "Saved.")
        return redirect("records:psychotherapy_note", note.pk)
    audit_record(
        action=Action.PSYCHOTHERAPY_NOTE_VIEW,
        actor=request.user,
        context=context_of(request),
        target_type="records.psychotherapynote",
        target_id=str(note.pk),
        subject_client_id=chart.client_id,
    )
    return render(request, "records/psychotherapy_note.html", {"note": note, "chart": chart, "form": form})


# Clients and guardians -----------------------------------------------------------------------
