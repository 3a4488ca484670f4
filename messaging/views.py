"""Secure messages: the list of one's conversations, a conversation, and what is done in it."""

from __future__ import annotations

import zoneinfo
from datetime import datetime

from django.conf import settings
from django.contrib import messages as flash
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Role, User
from accounts.office_hours import describe, next_opening
from accounts.rules import mfa_required, role_required
from accounts.selectors import clients_of_care_team, wards_of
from accounts.types import AuthedRequest
from audit.models import Action
from messaging import services
from messaging.models import ConversationKind
from messaging.selectors import (
    Reach,
    addressable_therapists,
    clients_of,
    conversation_get_for_user,
    conversations_of,
    message_get_for_user,
)
from records import files
from records.models import ChartDocument
from records.reads import record_read
from records.selectors import Access, notes_visible
from teletherapy.context import context_of
from teletherapy.errors import Conflict, NotVisible, ServiceError, error_text

WRITERS = (Role.CLIENT, Role.GUARDIAN, Role.THERAPIST)


def _crisis_line() -> tuple[str, str] | None:
    name, number = settings.CRISIS_LOCAL_LINE_NAME, settings.CRISIS_LOCAL_LINE_NUMBER
    return (name, number) if name and number else None


def _say_refusal(request: AuthedRequest, error: ServiceError, prefix: str = "") -> None:
    """A refusal (404/403) stays one, answered and audited as such; anything else the service
    refused is said on the page the person returns to."""
    if isinstance(error, NotVisible):
        raise error
    flash.error(request, f"{prefix}: {error_text(request, error)}" if prefix else error_text(request, error))


def sent_note(sender: User, now: datetime | None = None) -> str:
    """What a client or guardian is told on sending: when to expect an answer, outside office hours."""
    if sender.has_role(Role.THERAPIST) or sender.has_role(Role.ADMIN):
        return "Sent."
    practice = sender.practice
    now = now or timezone.now()
    opening = next_opening(practice, now)
    if opening is None or opening == now:
        return "Sent."
    local = opening.astimezone(zoneinfo.ZoneInfo(practice.time_zone))
    return (
        f"Sent. The practice is closed now (office hours: {describe(practice)}); expect an answer after it "
        f"opens on {local:%A %-d %B at %H:%M} ({practice.time_zone}). In a crisis, call or text 988."
    )


@mfa_required
@require_GET
def list_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    context = {
        "conversations": [
            {
                "conversation": c,
                "unread": n,
                "with": ", ".join(m.user.full_name for m in c.members.all() if m.user_id != user.pk),
            }
            for c, n in conversations_of(user=user)
        ],
        "therapists": addressable_therapists(client=user) if user.has_role(Role.CLIENT) else [],
        "wards": [
            (ward, addressable_therapists(client=ward))
            for ward in wards_of(guardian=user).filter(chart__guardian_sees_notes=True)
        ]
        if user.has_role(Role.GUARDIAN)
        else [],
        "caseload": clients_of_care_team(therapist=user).order_by("full_name")
        if user.has_role(Role.THERAPIST) and not user.has_role(Role.ADMIN)
        else [],
        "local_line": _crisis_line(),
        "office_hours": describe(request.user.practice),
    }
    return render(request, "messaging/list.html", context)


@role_required(*WRITERS)
@require_POST
def start_view(request: AuthedRequest) -> HttpResponse:
    ids = [v for v in request.POST.getlist("client") if v.isdigit()]
    clients = list(User.objects.filter(pk__in=ids, practice_id=request.user.practice_id)) if ids else []
    if not clients and request.user.has_role(Role.CLIENT):
        clients = [request.user]
    therapist_id = request.POST.get("therapist", "")
    therapist = (
        User.objects.filter(pk=therapist_id, practice_id=request.user.practice_id).first()
        if therapist_id.isdigit()
        else None
    )
    if ids and len(clients) != len(set(ids)):
        raise NotVisible("accounts.user", ",".join(ids))
    try:
        conversation = services.conversation_start(
            actor=request.user, clients=clients, therapist=therapist, context=context_of(request)
        )
    except ServiceError as error:
        _say_refusal(request, error)
        return redirect("messaging:list")
    return redirect("messaging:conversation", conversation.pk)


@role_required(*WRITERS)
@require_GET
def conversation_view(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    conversation, reach = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
    members = list(conversation.members.select_related("user"))
    thread = list(conversation.messages.select_related("sender"))
    # Where this reader left off (read before this opening records a new one): the first message
    # from someone else after it is marked as the start of what is new.
    left_off = next((m.last_read_at for m in members if m.user_id == request.user.pk), None)
    services.conversation_read(user=request.user, conversation=conversation, reach=reach, context=context_of(request))
    now = timezone.now()
    rows = []
    first_new = next(
        (
            m.pk
            for m in thread
            if m.sender_id != request.user.pk and m.retracted_at is None and (left_off is None or m.sent_at > left_off)
        ),
        None,
    )
    for message in thread:
        seen_by = [
            m.user.full_name
            for m in members
            if m.user_id not in (message.sender_id, request.user.pk)
            and m.last_read_at
            and m.last_read_at >= message.sent_at
        ]
        rows.append(
            {
                "message": message,
                "mine": message.sender_id == request.user.pk,
                "editable": message.sender_id == request.user.pk
                and message.retracted_at is None
                and now - message.sent_at <= services.EDIT_WINDOW,
                "seen_by": seen_by,
                "first_new": message.pk == first_new,
            }
        )
    context = {
        "conversation": conversation,
        "joint": conversation.kind == ConversationKind.JOINT,
        "others": [m.user for m in members if m.user_id != request.user.pk],
        "rows": rows,
        "local_line": _crisis_line(),
        "office_hours": describe(request.user.practice),
        "upload": {"max_mb": files.max_megabytes()},
        "max_chars": services.MAX_MESSAGE_CHARS,
        "file_into": _notes_to_file_into(request.user, conversation) if reach is Reach.THERAPIST else [],
    }
    return render(request, "messaging/conversation.html", context)


def _notes_to_file_into(user: User, conversation: object) -> list[tuple[str, str]]:
    """Where a therapist can file a message: a new note, or one of their recent notes, for each
    client of the conversation (value "client:note")."""
    options = []
    for client in clients_of(conversation):  # type: ignore[arg-type]
        chart = getattr(client, "chart", None)
        if chart is None:
            continue
        options.append((f"{client.pk}:new", f"A new note for {client.full_name}"))
        for note in notes_visible(chart=chart, access=Access.CARE_TEAM).filter(author=user)[:5]:
            state = "signed: as an addendum" if note.signed_at else "draft"
            options.append(
                (f"{client.pk}:{note.pk}", f"{client.full_name}: note of {note.service_date:%d %B %Y} ({state})")
            )
    return options


@role_required(Role.THERAPIST)
@require_POST
def file_view(request: AuthedRequest, message_id: str) -> HttpResponse:
    message, reach = message_get_for_user(user=request.user, message_id=message_id)
    client_id, _, note_id = request.POST.get("into", "").partition(":")
    try:
        note = services.message_file(
            actor=request.user,
            message=message,
            reach=reach,
            client_id=client_id,
            note_id=note_id,
            context=context_of(request),
        )
    except ServiceError as error:
        _say_refusal(request, error, "Not filed")
        return redirect(reverse("messaging:conversation", args=[message.conversation_id]) + f"#m-{message.pk}")
    flash.success(request, "The message is filed into the note.")
    return redirect("records:note", note.pk)


@role_required(*WRITERS)
@require_POST
def send_view(request: AuthedRequest, conversation_id: str) -> HttpResponse:
    conversation, reach = conversation_get_for_user(user=request.user, conversation_id=conversation_id)
    try:
        services.message_send(
            actor=request.user,
            conversation=conversation,
            reach=reach,
            body=request.POST.get("body", ""),
            upload=request.FILES.get("attachment"),
            context=context_of(request),
        )
    except ServiceError as error:
        _say_refusal(request, error, "Not sent")
    else:
        flash.success(request, sent_note(request.user))
    return redirect(reverse("messaging:conversation", args=[conversation.pk]) + "#send-h")


@role_required(*WRITERS)
@require_POST
def edit_view(request: AuthedRequest, message_id: str) -> HttpResponse:
    message, _reach = message_get_for_user(user=request.user, message_id=message_id, own=True)
    try:
        services.message_edit(
            actor=request.user, message=message, body=request.POST.get("body", ""), context=context_of(request)
        )
    except ServiceError as error:
        _say_refusal(request, error)
    else:
        flash.success(request, "Corrected. The others see that it was edited.")
    return redirect("messaging:conversation", message.conversation_id)


@role_required(*WRITERS)
@require_POST
def retract_view(request: AuthedRequest, message_id: str) -> HttpResponse:
    message, _reach = message_get_for_user(user=request.user, message_id=message_id, own=True)
    try:
        services.message_retract(actor=request.user, message=message, context=context_of(request))
    except ServiceError as error:
        _say_refusal(request, error)
    else:
        flash.success(request, "Retracted. The others see that a message was retracted; the record keeps it.")
    return redirect("messaging:conversation", message.conversation_id)


@role_required(*WRITERS)
@require_GET
def attachment_view(request: AuthedRequest, message_id: str) -> HttpResponseBase:
    """A message's attachment, for whoever reaches the conversation (a partner in a joint one
    too), through the documents' own checks; audited as a download from the chart it is on."""
    message, reach = message_get_for_user(user=request.user, message_id=message_id)
    document = (
        ChartDocument.objects.filter(pk=message.attachment_id, removed_at=None).select_related("chart").first()
        if message.attachment_id
        else None
    )
    if document is None or message.retracted_at is not None:
        raise NotVisible("messaging.message", message_id)
    try:
        response = files.download_response(document)
    except files.DocumentDamaged:
        raise Conflict(
            "This attachment does not open: the stored file was changed. Tell the practice, so they can restore "
            "it from a backup.",
            code="damaged",
        ) from None
    access = {Reach.CLIENT: Access.CLIENT, Reach.GUARDIAN: Access.GUARDIAN, Reach.THERAPIST: Access.CARE_TEAM}[reach]
    record_read(
        actor=request.user,
        context=context_of(request),
        action=Action.DOCUMENT_DOWNLOAD,
        target=document,
        chart=document.chart,
        access=access,
    )
    return response
