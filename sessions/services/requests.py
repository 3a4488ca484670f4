"""Asking for a first session: a practice that turns it on has a public page where someone who is
not yet a client leaves their name, how to reach them and the times that suit them, and nothing
clinical. The request is sealed, the admins are told by an e-mail that holds only a link, and an
admin answers it with an invitation (the ordinary one, to the address given) or declines it.

Requests are limited per client address, as a forgotten password is, and the page answers the same
whatever was sent, so it tells nobody whether an address is already known to the practice."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone

from accounts.models import Practice, Role, ThrottleScope, User
from accounts.services.invitations import invitation_send
from accounts.services.password_reset import address_counted
from audit.models import Action
from audit.services import audit_record
from sessions.models import FirstSessionRequest
from sessions.policy import policy_for
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotAllowed, NotVisible, ServiceError
from teletherapy.ids import as_uuid

PER_ADDRESS_PER_HOUR = 5
KEPT_UNANSWERED = timedelta(days=90)
TIMES = {
    "weekday_mornings": "Weekday mornings",
    "weekday_afternoons": "Weekday afternoons",
    "weekday_evenings": "Weekday evenings",
    "weekends": "Weekends",
}


def practice_taking_requests(slug: object) -> Practice:
    """The practice whose public page this is, if it takes requests; else NotVisible (a practice
    that does not is indistinguishable from one that does not exist)."""
    practice = Practice.objects.filter(slug=str(slug)[:64]).first()
    if practice is None or not policy_for(practice.pk).first_session_requests:
        raise NotVisible("accounts.practice", slug)
    return practice


def _clean(value: object, limit: int) -> str:
    return " ".join(str(value or "").split())[:limit]


def request_make(
    *, practice: Practice, context: AuditContext | None, full_name: object, email: object,
    phone: object = "", times: object = (),
) -> FirstSessionRequest:  # fmt: skip
    """Record a request for a first session and tell the admins; limited per client address."""
    name = _clean(full_name, 150)
    if not name:
        raise ServiceError("Tell us your name.", field="full_name")
    mail = _clean(email, 254).lower()
    try:
        validate_email(mail)
    except ValidationError:
        raise ServiceError(
            "Enter an e-mail address we can write to, such as name@example.org.", field="email"
        ) from None
    number = _clean(phone, 40)
    if number and not all(c.isdigit() or c in "+-(). " for c in number):
        raise ServiceError("Give a phone number in digits, or leave it empty.", field="phone")
    chosen = [str(t) for t in (times if isinstance(times, list | tuple) else [times]) if t]
    unknown = [t for t in chosen if t not in TIMES]
    if unknown:
        raise ServiceError("Choose the times from the list.", field="times")
    address = (context.address if context else None) or "unknown"
    address_counted(address, scope=ThrottleScope.REQUEST_ADDRESS, limit=PER_ADDRESS_PER_HOUR)
    with transaction.atomic():
        made = FirstSessionRequest.objects.create(
            practice=practice, full_name=name, email=mail, phone=number,
            preferred_times=", ".join(TIMES[t] for t in TIMES if t in chosen),
        )  # fmt: skip
        audit_record(action=Action.FIRST_SESSION_REQUEST, actor=None, context=context, target=made,
                     practice_id=practice.pk)  # fmt: skip
        practice_id = practice.pk
        transaction.on_commit(lambda: first_request_mail.delay(practice_id))
    return made


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def first_request_mail(practice_id: int) -> int:
    """Tell the practice's admins a request is waiting: a link only, never who asked."""
    admins = list(
        User.objects.filter(practice_id=practice_id, role_grants__role=Role.ADMIN, is_active=True)
        .values_list("email", flat=True)
        .distinct()
    )
    if not admins:
        return 0
    link = f"{(settings.SITE_URL or '').rstrip('/')}{reverse('sessions:requests')}"
    send_mail(
        subject="A request for a first session",
        message=f"Someone has asked for a first session.\n\nSign in to answer it: {link}\n\n"
        "For privacy this message holds no other detail.\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=admins,
    )
    return len(admins)


# The admins' side ---------------------------------------------------------------------------------------


def _admin_only(actor: User) -> None:
    if not actor.has_role(Role.ADMIN):
        raise NotAllowed("Only a practice admin answers requests for a first session.",
                         target_type="video.firstsessionrequest", target_id="")  # fmt: skip


def requests_open(*, actor: User) -> QuerySet[FirstSessionRequest]:
    _admin_only(actor)
    return FirstSessionRequest.objects.filter(practice_id=actor.practice_id, answered_at__isnull=True)


def _one(actor: User, request_id: object) -> FirstSessionRequest:
    _admin_only(actor)
    key = as_uuid(request_id)
    found = (
        FirstSessionRequest.objects.select_for_update().filter(pk=key, practice_id=actor.practice_id).first()
        if key is not None
        else None
    )
    if found is None:
        raise NotVisible("video.firstsessionrequest", request_id)
    if found.answered_at is not None:
        raise Conflict("This request has already been answered.")
    return found


def therapists_to_see(*, actor: User) -> QuerySet[User]:
    """Who an admin may invite a new client for: the practice's active therapists."""
    return (
        User.objects.filter(practice_id=actor.practice_id, is_active=True, role_grants__role=Role.THERAPIST)
        .distinct()
        .order_by("full_name")
    )


def request_invite(
    *, actor: User, request_id: object, therapist_id: object, context: AuditContext | None
) -> FirstSessionRequest:
    """Answer a request with an invitation to become a client of a therapist of the practice, sent
    to the address it gave; the client joins that therapist's caseload on accepting."""
    with transaction.atomic():
        found = _one(actor, request_id)
        try:
            therapist = therapists_to_see(actor=actor).filter(pk=int(str(therapist_id))).first()
        except ValueError:
            therapist = None
        if therapist is None:
            raise ServiceError("Choose the therapist who will see them.", field="therapist")
        invitation, _token = invitation_send(
            actor=actor, context=context, email=found.email, role=Role.CLIENT, full_name=found.full_name,
            on_behalf_of=therapist,
        )  # fmt: skip
        found.answered_at, found.answered_by, found.invitation = timezone.now(), actor, invitation
        # The invitation carries the name and address on; the request keeps nothing of the person.
        found.full_name, found.email, found.phone, found.preferred_times = "", "", "", ""
        found.save()
        audit_record(action=Action.FIRST_SESSION_ANSWER, actor=actor, context=context, target=found,
                     details={"answer": "invited"})  # fmt: skip
    return found


def request_decline(*, actor: User, request_id: object, context: AuditContext | None) -> FirstSessionRequest:
    """Close a request without an invitation (the admin answers the person by their own means).
    What it held is erased: nothing is kept about someone who never became a client."""
    with transaction.atomic():
        found = _one(actor, request_id)
        found.answered_at, found.answered_by, found.declined = timezone.now(), actor, True
        found.full_name, found.email, found.phone, found.preferred_times = "", "", "", ""
        found.save()
        audit_record(action=Action.FIRST_SESSION_ANSWER, actor=actor, context=context, target=found,
                     details={"answer": "declined"})  # fmt: skip
    return found


@shared_task
def first_requests_forget() -> int:
    """Erase requests left unanswered for ``KEPT_UNANSWERED``: nothing is kept for long about
    someone who never became a client. Run daily by beat."""
    old = FirstSessionRequest.objects.filter(answered_at__isnull=True, created_at__lt=timezone.now() - KEPT_UNANSWERED)
    return old.delete()[0]
