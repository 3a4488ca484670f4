"""The one door to conversations. A member reads and writes: the clients of the conversation,
and the therapists addressed while they are on the care team of every client in it. A guardian
reads and writes a minor's individual conversation where the minor's chart allows. Anyone else
gets NotVisible (a 404, audited once)."""

from __future__ import annotations

import enum
from typing import Any

from django.db.models import Q, QuerySet

from accounts.models import Role, User
from accounts.selectors import guardian_acts_for
from messaging.models import Conversation, ConversationKind, MemberRole, Message
from records.document import Entry, label, when
from records.selectors import Access, chart_access, clinical_gate
from teletherapy.errors import NotVisible
from teletherapy.gates import clinical_refusal
from teletherapy.ids import as_uuid as _uuid


class Reach(enum.Enum):
    CLIENT = "client"
    THERAPIST = "therapist"
    GUARDIAN = "guardian"


def clients_of(conversation: Conversation) -> list[User]:
    return [m.user for m in conversation.members.all() if m.role == MemberRole.CLIENT]


def conversation_reach(*, user: User, conversation: Conversation) -> Reach | None:
    if conversation.practice_id != user.practice_id or not user.is_active:
        return None
    members = list(conversation.members.select_related("user", "user__chart"))
    clients = [m.user for m in members if m.role == MemberRole.CLIENT]
    mine = next((m for m in members if m.user_id == user.pk), None)
    if mine is not None and mine.role == MemberRole.CLIENT:
        return Reach.CLIENT
    if mine is not None and mine.role == MemberRole.THERAPIST:
        # The chart's own rule: on the care team of every client in it, and never as an admin.
        if clients and all(writes_for(therapist=user, client=c) for c in clients):
            return Reach.THERAPIST
        return None
    if conversation.kind == ConversationKind.INDIVIDUAL and len(clients) == 1:
        client = clients[0]
        chart = getattr(client, "chart", None)
        if chart is not None and chart.guardian_sees_notes and guardian_acts_for(guardian=user, client=client):
            return Reach.GUARDIAN
    return None


def writes_for(*, therapist: User, client: User) -> bool:
    """Whether this therapist reaches the client's messages: as the chart's care team reaches it."""
    chart = getattr(client, "chart", None)
    return chart is not None and chart_access(user=therapist, chart=chart) is Access.CARE_TEAM


def conversation_get_for_user(*, user: User, conversation_id: object) -> tuple[Conversation, Reach]:
    """The door: the conversation and how the user reaches it, or NotVisible."""
    pk = _uuid(conversation_id)
    conversation = Conversation.objects.filter(pk=pk).first() if pk else None
    reach = conversation_reach(user=user, conversation=conversation) if conversation else None
    if conversation is None or reach is None:
        raise NotVisible("messaging.conversation", conversation_id)
    gate(user=user, reach=reach, target_type="messaging.conversation", target_id=conversation_id)
    return conversation, reach


def message_get_for_user(*, user: User, message_id: object, own: bool = False) -> tuple[Message, Reach]:
    """A message in a conversation the user reaches (``own``: one they sent), or NotVisible."""
    pk = _uuid(message_id)
    message = Message.objects.select_related("conversation").filter(pk=pk).first() if pk else None
    reach = conversation_reach(user=user, conversation=message.conversation) if message else None
    if message is None or reach is None or (own and message.sender_id != user.pk):
        raise NotVisible("messaging.message", message_id)
    gate(user=user, reach=reach, target_type="messaging.message", target_id=message_id)
    return message, reach


def opens_now(*, user: User, conversation: Conversation) -> bool:
    """Whether the conversation's door lets this person open it now, gate included: who is told of
    a new message, by push or by e-mail."""
    reach = conversation_reach(user=user, conversation=conversation)
    return reach is not None and not (reach is Reach.THERAPIST and clinical_refusal(user))


def gate(*, user: User, reach: Reach, target_type: str, target_id: object) -> None:
    """The clinical gate every clinical door asks (records.selectors.clinical_gate): a therapist
    whom the practice keeps out of clinical data (training overdue, where it blocks) is refused."""
    if reach is Reach.THERAPIST:
        clinical_gate(user=user, access=Access.CARE_TEAM, target_type=target_type, target_id=target_id)


def conversations_of(*, user: User) -> list[tuple[Conversation, int]]:
    """The conversations the user reaches, newest first, each with how many messages they have
    not read."""
    wards = list(
        User.objects.filter(guardians__guardian=user, chart__is_minor=True, chart__guardian_sees_notes=True)
    ) if user.has_role(Role.GUARDIAN) else []  # fmt: skip
    candidates = (
        Conversation.objects.filter(practice_id=user.practice_id)
        .filter(Q(members__user=user) | Q(kind=ConversationKind.INDIVIDUAL, members__user__in=wards))
        .distinct()
        .prefetch_related("members__user")
        .order_by("-last_message_at")
    )
    held_back = clinical_refusal(user) is not None
    found = []
    for conversation in candidates[:100]:
        reach = conversation_reach(user=user, conversation=conversation)
        if reach is None or (held_back and reach is Reach.THERAPIST):
            continue
        found.append((conversation, unread_count(conversation=conversation, user=user)))
    return found


def last_read(conversation: Conversation, user: User) -> Any:
    member = next((m for m in conversation.members.all() if m.user_id == user.pk), None)
    return member.last_read_at if member else None


def unread_count(*, conversation: Conversation, user: User) -> int:
    since = last_read(conversation, user)
    messages = conversation.messages.exclude(sender=user)
    return (messages.filter(sent_at__gt=since) if since else messages).count()


def addressable_therapists(*, client: User) -> QuerySet[User]:
    """Whom a client may write to: their care team, and no one else."""
    return (
        User.objects.filter(care_charts__client=client, is_active=True, role_grants__role=Role.THERAPIST)
        .exclude(role_grants__role=Role.ADMIN)  # an admin never reads clinical content
        .distinct()
        .order_by("full_name")
    )


def unread_total(*, user: User) -> int:
    return sum(count for _c, count in conversations_of(user=user))


def messages_for_export(chart: Any, reader: User, access: Any) -> list[dict[str, object]]:
    """The client's conversations that the reader reaches through this door, as the copy of the
    record lists them (retracted ones kept, marked; a joint conversation's messages are the
    couple's record as much as each partner's)."""
    out = []
    conversations = Conversation.objects.filter(members__user_id=chart.client_id, members__role=MemberRole.CLIENT)
    for conversation in conversations.distinct().order_by("created_at"):
        if conversation_reach(user=reader, conversation=conversation) is None:
            continue
        for message in conversation.messages.select_related("sender").order_by("sent_at"):
            out.append(
                {
                    "conversation": str(conversation.pk),
                    "kind": conversation.kind,
                    "from": message.sender.full_name,
                    "sent_at": message.sent_at.isoformat(),
                    "text": message.body,
                    "retracted": message.retracted_at is not None,
                    "attachment": str(message.attachment_id) if message.attachment_id else None,
                }
            )
    return out


def read_message(item: dict[str, Any], zone: Any, currency: str) -> Entry:
    facts = [("Conversation", label(str(item.get("kind", ""))))]
    if item.get("retracted"):
        facts.append(("Retracted", "Its writer took it back; it stays in the record."))
    if item.get("attachment"):
        facts.append(("Attachment", "A file, listed under Documents."))
    return Entry(
        f"{item.get('from')}, {when(item.get('sent_at'), zone)}",
        facts=facts,
        passages=[("Message", str(item.get("text", "")))],
    )


def member_names(conversation: Conversation, *, besides: User | None = None) -> str:
    names = [m.user.full_name for m in conversation.members.all() if besides is None or m.user_id != besides.pk]
    return ", ".join(names) or "—"
