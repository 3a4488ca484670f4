"""The waitlist: a client asks to be offered an earlier time with a therapist they may book. When
a session of that therapist is cancelled, its time is offered to everyone waiting for it, in the
order they asked, by an e-mail holding only a link; the first to accept takes it (the freed time's
row is locked, so two at once cannot both have it) and the others are told it is gone.

A time is offered to an entry when it is at least as long as the entry's session type, the
client was not in the cancelled session, it is at least ``MIN_NOTICE`` away, and it is earlier
than the session the entry names (which the time then replaces) if it names one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from audit.models import Action
from audit.services import audit_record
from sessions.models import (
    Appointment,
    AppointmentKind,
    AppointmentStatus,
    FreedTime,
    OfferOutcome,
    WaitlistEntry,
    WaitlistOffer,
)
from sessions.policy import local_time
from sessions.services.booking import _as_int, _tell_therapist, bookable_types_for, type_for_client
from sessions.services.scheduling import _check_free, _lock_therapist, _move, _notify_clients, appointment_schedule
from sessions.signals import appointment_cancelled
from teletherapy.context import AuditContext
from teletherapy.errors import Conflict, NotVisible, ServiceError
from teletherapy.ids import as_uuid

MIN_NOTICE = timedelta(hours=2)


# The client's side ----------------------------------------------------------------------------------


def waiting_of(client: User) -> QuerySet[WaitlistEntry]:
    return WaitlistEntry.objects.filter(client=client, closed_at__isnull=True).select_related(
        "session_type__therapist", "appointment"
    )


def waitlist_join(
    *, client: User, type_id: object, appointment_id: object = None, context: AuditContext | None
) -> WaitlistEntry:
    """Ask to be offered an earlier time of a session type the client may book; ``appointment_id``:
    a session of theirs with its therapist that an earlier time would replace."""
    session_type = type_for_client(client=client, type_id=type_id)
    appointment = None
    if appointment_id:
        key = as_uuid(appointment_id)
        appointment = (
            Appointment.objects.filter(
                pk=key, participants__client=client, therapist_id=session_type.therapist_id,
                status=AppointmentStatus.SCHEDULED, kind=AppointmentKind.INDIVIDUAL, starts_at__gt=timezone.now(),
            ).first()
            if key is not None
            else None
        )  # fmt: skip
        if appointment is None:
            raise ServiceError("Choose one of your upcoming sessions with this therapist.", field="appointment")
    with transaction.atomic():
        entry = (
            WaitlistEntry.objects.select_for_update()
            .filter(client=client, session_type=session_type, closed_at__isnull=True)
            .first()
        )
        if entry is None:
            entry = WaitlistEntry.objects.create(
                practice_id=client.practice_id, client=client, session_type=session_type, appointment=appointment
            )
        elif entry.appointment_id != (appointment.pk if appointment else None):
            entry.appointment = appointment
            entry.save(update_fields=["appointment"])
        audit_record(
            action=Action.WAITLIST_CHANGE, actor=client, context=context, target=entry, subject_client_id=client.pk,
            details={"joined": True, "earlier_than_a_session": appointment is not None},
        )  # fmt: skip
    return entry


def waitlist_leave(*, client: User, entry_id: object, context: AuditContext | None) -> WaitlistEntry:
    with transaction.atomic():
        entry = WaitlistEntry.objects.select_for_update().filter(pk=_as_int(entry_id), client=client).first()
        if entry is None:
            raise NotVisible("video.waitlistentry", entry_id)
        if entry.closed_at is None:
            entry.closed_at = timezone.now()
            entry.save(update_fields=["closed_at"])
            audit_record(
                action=Action.WAITLIST_CHANGE, actor=client, context=context, target=entry,
                subject_client_id=client.pk, details={"joined": False},
            )  # fmt: skip
    return entry


def offer_for(*, client: User, offer_id: object) -> WaitlistOffer:
    """One of the client's own offers, or NotVisible."""
    key = as_uuid(offer_id)
    found = (
        WaitlistOffer.objects.select_related("freed__therapist", "entry__session_type", "entry__appointment")
        .filter(pk=key, entry__client=client)
        .first()
        if key is not None
        else None
    )
    if found is None:
        raise NotVisible("video.waitlistoffer", offer_id)
    return found


def offer_accept(*, client: User, offer_id: object, context: AuditContext | None) -> Appointment:
    """Take the offered time: a new session of the entry's type, or the entry's session moved to it.
    A time someone else took first, or one that has passed, is refused and the offer marked gone."""
    offer = offer_for(client=client, offer_id=offer_id)
    try:
        with transaction.atomic():
            freed = FreedTime.objects.select_for_update().get(pk=offer.freed_id)
            offer = WaitlistOffer.objects.select_for_update().select_related("entry__session_type").get(pk=offer.pk)
            entry = offer.entry
            if offer.outcome == OfferOutcome.TAKEN:
                raise Conflict("You already took this time.", code="offer_taken")
            if freed.taken_by_id is not None:
                raise Conflict("Someone else took this time first. You stay on the waitlist.", code="offer_gone")
            if freed.starts_at < timezone.now() + timedelta(minutes=15):
                raise Conflict("This time has passed. You stay on the waitlist.", code="offer_gone")
            if entry.closed_at is not None:
                raise Conflict("You left this waitlist, so the offer has lapsed.", code="offer_gone")
            if not bookable_types_for(client=client).filter(pk=entry.session_type_id).exists():
                raise Conflict("This session type can no longer be booked online. You can write to the practice.",
                               code="offer_gone")  # fmt: skip
            therapist = freed.therapist
            minutes = entry.session_type.minutes
            _lock_therapist(therapist)
            mine = entry.appointment
            replacing = (
                Appointment.objects.select_for_update().filter(pk=mine.pk, status=AppointmentStatus.SCHEDULED).first()
                if mine is not None
                else None
            )
            try:
                _check_free(therapist, freed.starts_at, freed.starts_at + timedelta(minutes=minutes), moving=replacing)
            except ServiceError:
                raise Conflict("This time is no longer free. You stay on the waitlist.", code="offer_gone") from None
            if replacing is not None and replacing.starts_at > freed.starts_at:
                was = replacing.starts_at
                _move(replacing, freed.starts_at, minutes)
                audit_record(
                    action=Action.APPOINTMENT_RESCHEDULE, actor=client, context=context, target=replacing,
                    details={"from": was.isoformat(), "to": freed.starts_at.isoformat(), "by": "client",
                             "waitlist": True},
                )  # fmt: skip
                _notify_clients(replacing, "rescheduled")
                _tell_therapist(replacing, "moved")
                taken = replacing
            else:
                taken = appointment_schedule(
                    therapist=therapist, clients=[client], kind=AppointmentKind.INDIVIDUAL,
                    starts_at=freed.starts_at, minutes=minutes, context=context, actor=client,
                )  # fmt: skip
                taken.session_type = entry.session_type
                taken.save(update_fields=["session_type"])
                _tell_therapist(taken, "booked")
            now = timezone.now()
            freed.taken_by, freed.taken_at = client, now
            freed.save(update_fields=["taken_by", "taken_at"])
            offer.outcome = OfferOutcome.TAKEN
            offer.save(update_fields=["outcome"])
            entry.closed_at = now
            entry.save(update_fields=["closed_at"])
            audit_record(
                action=Action.WAITLIST_TAKE, actor=client, context=context, target=taken, subject_client_id=client.pk,
            )  # fmt: skip
            freed_id = freed.pk
            transaction.on_commit(lambda: waitlist_gone.delay(freed_id))
    except Conflict as refusal:
        if refusal.code == "offer_gone":
            WaitlistOffer.objects.filter(pk=offer.pk, outcome=OfferOutcome.OPEN).update(outcome=OfferOutcome.GONE)
        raise
    return taken


# Offering a freed time --------------------------------------------------------------------------------


@receiver(appointment_cancelled)
def _on_cancel(sender: Any, appointment: Appointment, **kwargs: Any) -> None:
    if appointment.starts_at < timezone.now() + MIN_NOTICE:
        return
    appointment_id = str(appointment.pk)
    transaction.on_commit(lambda: waitlist_offer.delay(appointment_id))


def _earlier_suits(entry: WaitlistEntry, freed: Appointment) -> bool:
    mine = entry.appointment
    return mine is None or (mine.status == AppointmentStatus.SCHEDULED and mine.starts_at > freed.starts_at)


def offers_make(appointment: Appointment) -> list[WaitlistOffer]:
    """Record the freed time of a cancelled session and one offer per entry it suits, in order."""
    if appointment.status != AppointmentStatus.CANCELLED or appointment.starts_at < timezone.now() + MIN_NOTICE:
        return []
    minutes = int((appointment.ends_at - appointment.starts_at).total_seconds() // 60)
    were_in = set(appointment.participants.values_list("client_id", flat=True))
    entries = [
        entry
        for entry in WaitlistEntry.objects.filter(
            session_type__therapist_id=appointment.therapist_id,
            closed_at__isnull=True,
            client__is_active=True,
            session_type__minutes__lte=minutes,
        )
        .exclude(client_id__in=were_in)
        .select_related("appointment")
        .order_by("created_at", "id")
        if _earlier_suits(entry, appointment)
        # The door, asked again: still on the therapist's care team, the type still bookable.
        and bookable_types_for(client=entry.client).filter(pk=entry.session_type_id).exists()
    ]
    if not entries:
        return []
    with transaction.atomic():
        freed, made = FreedTime.objects.get_or_create(
            freed_by=appointment,
            defaults={"practice_id": appointment.practice_id, "therapist_id": appointment.therapist_id,
                      "starts_at": appointment.starts_at, "minutes": minutes},
        )  # fmt: skip
        if not made:
            return []
        return [WaitlistOffer.objects.create(freed=freed, entry=entry) for entry in entries]


def _link(offer: WaitlistOffer) -> str:
    return f"{(settings.SITE_URL or '').rstrip('/')}{reverse('sessions:offer', args=[offer.pk])}"


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_offer(appointment_id: str) -> int:
    """Offer a cancelled session's time to the waitlist: one e-mail per entry, in order, each with
    a link and nothing else (no name, no time: an inbox is often shared)."""
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None:
        return 0
    offers = offers_make(appointment)
    for offer in offers:
        send_mail(
            subject="An earlier time may be open",
            message=(
                "A time has opened that may suit you better than the one you have.\n\n"
                f"Sign in to see it and take it, if it is still free: {_link(offer)}\n\n"
                "The first person to take it has it. For your privacy this message holds no other detail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[offer.entry.client.email],
        )
    return len(offers)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def waitlist_gone(freed_id: int) -> int:
    """Tell everyone else offered a freed time that it was taken."""
    told = 0
    for offer in WaitlistOffer.objects.filter(freed_id=freed_id, outcome=OfferOutcome.OPEN).select_related(
        "entry__client"
    ):
        offer.outcome = OfferOutcome.GONE
        offer.save(update_fields=["outcome"])
        send_mail(
            subject="The earlier time has been taken",
            message=(
                "The earlier time you were offered has been taken by someone else. You stay on the waitlist, "
                f"and we will write again if another opens.\n\nSee your sessions: {_link(offer)}\n\n"
                "For your privacy this message holds no other detail.\n"
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[offer.entry.client.email],
        )
        told += 1
    return told


def offer_moment(offer: WaitlistOffer, viewer: User) -> str:
    when = local_time(offer.freed.starts_at, viewer)
    return f"{when:%A %-d %B at %H:%M} ({when.tzname()})"
