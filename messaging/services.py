"""Everything that changes a conversation, each change audited in its transaction (one event per
client of the conversation, since each is a subject of it). Notifications carry no content."""

from __future__ import annotations

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from accounts.models import Role, User
from accounts.selectors import guardian_acts_for, guardians_of
from audit.models import Action
from audit.services import audit_record
from messaging.models import Conversation, ConversationKind, ConversationMember, MemberRole, Message, MessageRevision
from messaging.selectors import Reach, addressable_therapists, clients_of, opens_now, writes_for
from messaging.signals import message_arrived
from records.models import ProgressNote
from records.selectors import Access, is_valid_id
from records.services import document_upload, note_file_excerpt
from teletherapy.context import AuditContext
from teletherapy.errors import NotAllowed, NotVisible, ServiceError

MAX_MESSAGE_CHARS = 10_000
EDIT_WINDOW = timedelta(minutes=5)


def _audit(action: Action, *, actor: User, context: AuditContext | None, conversation: Conversation, target: object,
           **details: object) -> None:  # fmt: skip
    for client in clients_of(conversation):
        audit_record(
            action=action,
            actor=actor,
            context=context,
            target=target,  # type: ignore[arg-type]
            subject_client_id=client.pk,
            details=details or None,
        )


def _text(body: object, *, required: bool) -> str:
    text = body if isinstance(body, str) else ""
    text = text.replace("\r\n", "\n").strip()
    if "\x00" in text:
        raise ServiceError("The message contains a character that cannot be stored.", field="body")
    if len(text) > MAX_MESSAGE_CHARS:
        raise ServiceError(f"Keep a message under {MAX_MESSAGE_CHARS:,} characters.", field="body")
    if required and not text:
        raise ServiceError("Write a message first.", field="body")
    return text


def conversation_start(
    *, actor: User, clients: list[User], therapist: User | None = None, context: AuditContext | None
) -> Conversation:
    """Open a conversation, or return the one these people already have.

    A client writes to a therapist on their care team; a guardian, for a minor whose chart
    allows, to the minor's care team; a therapist to clients on their caseload: several of
    them make a joint conversation (a couple's), where each partner's individual one stays
    apart."""
    clients = list(dict.fromkeys(clients))
    if not clients:
        raise ServiceError("Choose who the conversation is with.", field="clients")
    if actor.has_role(Role.THERAPIST) and actor not in clients:
        if not all(c.practice_id == actor.practice_id and writes_for(therapist=actor, client=c) for c in clients):
            raise NotVisible("accounts.user", ",".join(str(c.pk) for c in clients))
        therapist = actor
        role = None
    else:
        if len(clients) != 1:
            raise ServiceError("A joint conversation is started by the therapist.", field="clients")
        client = clients[0]
        if client == actor:
            role = None
        elif (
            guardian_acts_for(guardian=actor, client=client)
            and getattr(client, "chart", None) is not None
            and (client.chart.guardian_sees_notes)
        ):
            role = MemberRole.GUARDIAN
        else:
            raise NotVisible("accounts.user", client.pk)
        if therapist is None or not addressable_therapists(client=client).filter(pk=therapist.pk).exists():
            raise ServiceError("Only a therapist on the care team can be written to.", field="therapist")
    kind = ConversationKind.JOINT if len(clients) > 1 else ConversationKind.INDIVIDUAL
    wanted = {c.pk for c in clients}
    for existing in Conversation.objects.filter(kind=kind, members__user=therapist, practice_id=actor.practice_id):
        have = {m.user_id for m in existing.members.all() if m.role == MemberRole.CLIENT}
        if have == wanted:
            if role is MemberRole.GUARDIAN:
                ConversationMember.objects.get_or_create(conversation=existing, user=actor, defaults={"role": role})
            return existing
    with transaction.atomic():
        conversation = Conversation.objects.create(practice_id=actor.practice_id, kind=kind, created_by=actor)
        for client in clients:
            ConversationMember.objects.create(conversation=conversation, user=client, role=MemberRole.CLIENT)
        ConversationMember.objects.create(conversation=conversation, user=therapist, role=MemberRole.THERAPIST)
        if role is MemberRole.GUARDIAN:
            ConversationMember.objects.create(conversation=conversation, user=actor, role=role)
        _audit(Action.CONVERSATION_START, actor=actor, context=context, conversation=conversation, target=conversation)
    return conversation


def _attachment_chart(conversation: Conversation, actor: User, reach: Reach) -> tuple[object, Access]:
    clients = clients_of(conversation)
    if reach is Reach.CLIENT:
        return actor.chart, Access.CLIENT
    return clients[0].chart, (Access.GUARDIAN if reach is Reach.GUARDIAN else Access.CARE_TEAM)


def _notify(conversation: Conversation, sender: User) -> None:
    """E-mail each member who can open the conversation now (the same door as the page: a
    therapist no longer on the care team, or kept out by overdue training, or a guardian the chart
    no longer lets read it, is not told of a message they could not open)."""
    link = f"{str(settings.SITE_URL).rstrip('/')}/messages/{conversation.pk}/"
    for member in conversation.members.select_related("user"):
        if member.user_id == sender.pk or not member.user.is_active:
            continue
        if not opens_now(user=member.user, conversation=conversation):
            continue
        send_mail(
            "You have a new message",
            f"You have a new message. Sign in to read it:\n\n{link}\n\n"
            "Messages are not for emergencies. In a crisis, call or text 988 (in the US), or 911.",
            None,
            [member.user.email],
        )


def message_send(
    *,
    actor: User,
    conversation: Conversation,
    reach: Reach,
    body: object,
    upload: object = None,
    context: AuditContext | None,
) -> Message:
    text = _text(body, required=upload is None)
    attachment = None
    if upload is not None:
        chart, access = _attachment_chart(conversation, actor, reach)
        attachment = document_upload(
            actor=actor,
            chart=chart,  # type: ignore[arg-type]
            access=access,
            upload=upload,
            shared_with_client=conversation.kind == ConversationKind.INDIVIDUAL,
            context=context,
        )
    now = timezone.now()
    with transaction.atomic():
        message = Message(
            conversation=conversation,
            sender=actor,
            body=text,
            attachment_id=attachment.pk if attachment else None,
            sent_at=now,
        )
        message.save()
        Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now)
        member, _ = ConversationMember.objects.get_or_create(
            conversation=conversation, user=actor, defaults={"role": reach.value}
        )
        ConversationMember.objects.filter(pk=member.pk).update(last_read_at=now)
        _audit(Action.MESSAGE_SEND, actor=actor, context=context, conversation=conversation, target=message)
        transaction.on_commit(lambda: _notify(conversation, actor))
        transaction.on_commit(lambda: _arrived(message, actor))
    return message


def _arrived(message: Message, sender: User) -> None:
    """Tell the pages of everyone who reaches the conversation that something new is in it."""
    conversation = message.conversation
    people = {m.user for m in conversation.members.select_related("user")}
    if conversation.kind == ConversationKind.INDIVIDUAL:
        for client in clients_of(conversation):
            people.update(guardians_of(client=client))
    recipients = [
        p.pk for p in people if p.pk != sender.pk and p.is_active and opens_now(user=p, conversation=conversation)
    ]
    message_arrived.send(sender=Message, conversation_id=conversation.pk, recipients=recipients)


def message_edit(*, actor: User, message: Message, body: object, context: AuditContext | None) -> Message:
    text = _text(body, required=True)
    with transaction.atomic():
        locked = Message.objects.select_for_update().select_related("conversation").get(pk=message.pk)
        if locked.sender_id != actor.pk:
            raise NotVisible("messaging.message", message.pk)
        if locked.retracted_at is not None:
            raise ServiceError("A retracted message cannot be changed.", code="retracted")
        if timezone.now() - locked.sent_at > EDIT_WINDOW:
            raise ServiceError(
                "A message can be corrected only in the first 5 minutes. Send another one instead.", code="too_late"
            )
        if text != locked.body:
            MessageRevision.objects.create(message=locked, body=locked.body)
            locked.body = text
            locked.edited_at = timezone.now()
            locked.save(update_fields=["body", "edited_at"])
            _audit(Action.MESSAGE_EDIT, actor=actor, context=context, conversation=locked.conversation, target=locked)
    return locked


def message_retract(*, actor: User, message: Message, context: AuditContext | None) -> Message:
    """Mark a message retracted: the others see that it was, not what it said; the record keeps it."""
    with transaction.atomic():
        locked = Message.objects.select_for_update().select_related("conversation").get(pk=message.pk)
        if locked.sender_id != actor.pk:
            raise NotVisible("messaging.message", message.pk)
        if locked.retracted_at is not None:
            raise ServiceError("This message was retracted already.", code="retracted")
        locked.retracted_at = timezone.now()
        locked.save(update_fields=["retracted_at"])
        _audit(Action.MESSAGE_RETRACT, actor=actor, context=context, conversation=locked.conversation, target=locked)
    return locked


def message_file(
    *, actor: User, message: Message, reach: Reach, client_id: object, note_id: object, context: AuditContext | None
) -> ProgressNote:
    """A therapist files a message into the chart of a client of the conversation, as part of a
    note of theirs: a new draft, a draft of theirs, or an addendum to a signed one of theirs. The
    passage names who wrote it and when; the note's own service checks and audits the change."""
    if reach is not Reach.THERAPIST:
        raise NotAllowed(
            "Only the care team files messages into a chart.",
            target_type=message._meta.label_lower,
            target_id=message.pk,
        )
    if message.retracted_at is not None:
        raise ServiceError("A retracted message is not filed into a note.", code="retracted")
    client = next((c for c in clients_of(message.conversation) if str(c.pk) == str(client_id)), None)
    chart = getattr(client, "chart", None)
    if client is None or chart is None or not writes_for(therapist=actor, client=client):
        raise ServiceError("Choose a client of this conversation.", field="client")
    note = None
    if note_id not in (None, "", "new"):
        note = ProgressNote.objects.filter(pk=str(note_id), chart=chart, author=actor).first() if is_valid_id(
            note_id
        ) else None  # fmt: skip
        if note is None:
            raise ServiceError("Choose one of your notes on this chart, or a new one.", field="note")
    sent = timezone.localtime(message.sent_at, zoneinfo.ZoneInfo(chart.practice.time_zone))
    excerpt = f"Secure message from {message.sender.full_name}, {sent:%Y-%m-%d %H:%M}:\n{message.body}"
    if message.attachment_id:
        excerpt += "\n(with an attachment, kept with the chart's documents)"
    with transaction.atomic():
        filed = note_file_excerpt(
            actor=actor, chart=chart, access=Access.CARE_TEAM, note=note, excerpt=excerpt, context=context
        )
        _audit(Action.MESSAGE_FILE, actor=actor, context=context, conversation=message.conversation,
               target=message, note=str(filed.pk))  # fmt: skip
    return filed


def conversation_read(*, user: User, conversation: Conversation, reach: Reach, context: AuditContext | None) -> None:
    """The reader opened the conversation: audited, like opening a note; their read mark moves."""
    with transaction.atomic():
        member, _ = ConversationMember.objects.get_or_create(
            conversation=conversation, user=user, defaults={"role": reach.value}
        )
        ConversationMember.objects.filter(pk=member.pk).update(last_read_at=timezone.now())
        _audit(Action.CONVERSATION_VIEW, actor=user, context=context, conversation=conversation, target=conversation)
