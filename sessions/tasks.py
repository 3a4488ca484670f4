"""Reminder and change notices by e-mail.

A notice carries only the time and a link to the portal: no therapist's name or specialty, no
clinical detail, because an inbox is often shared or glanced at by others.
"""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from sessions.models import Appointment, AppointmentStatus, SessionPolicy
from sessions.policy import local_time, policy_for, recipients_of

SUBJECTS = {
    "reminder": "Reminder: your upcoming session",
    "scheduled": "A session has been scheduled",
    "rescheduled": "Your session has a new time",
    "cancelled": "A session has been cancelled",
}


def _portal_link() -> str:
    return f"{(settings.SITE_URL or '').rstrip('/')}/sessions/"


def _send(appointment: Appointment, what: str) -> int:
    sent = 0
    for person in recipients_of(appointment):
        when = local_time(appointment.starts_at, person)
        moment = f"{when:%A %-d %B %Y at %H:%M} ({when.tzname()})"
        lines = {
            "reminder": f"You have a session on {moment}.",
            "scheduled": f"A session has been scheduled for {moment}.",
            "rescheduled": f"Your session now takes place on {moment}.",
            "cancelled": f"The session on {moment} has been cancelled.",
        }
        body = (
            f"{lines[what]}\n\n"
            f"Sign in to see the details and join: {_portal_link()}\n\n"
            "For your privacy this message holds no other detail.\n"
        )
        send_mail(
            subject=SUBJECTS[what],
            message=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[person.email],
        )
        sent += 1
    return sent


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def appointment_notify(appointment_id: str, what: str) -> int:
    appointment = Appointment.objects.filter(pk=appointment_id).first()
    if appointment is None or what not in SUBJECTS:
        return 0
    return _send(appointment, what)


THERAPIST_LINES = {
    "booked": "A client booked a session on {moment}.",
    "moved": "A client moved a session; it now takes place on {moment}.",
    "cancelled": "A client cancelled the session on {moment}.",
}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def therapist_notify(appointment_id: str, what: str) -> int:
    """Tell the therapist a client booked, moved or cancelled online: the time and a link only."""
    appointment = Appointment.objects.select_related("therapist").filter(pk=appointment_id).first()
    if appointment is None or what not in THERAPIST_LINES or not appointment.therapist.is_active:
        return 0
    therapist = appointment.therapist
    when = local_time(appointment.starts_at, therapist)
    moment = f"{when:%A %-d %B %Y at %H:%M} ({when.tzname()})"
    send_mail(
        subject="A change to your schedule",
        message=(
            f"{THERAPIST_LINES[what].format(moment=moment)}\n\n"
            f"Sign in to see it: {(settings.SITE_URL or '').rstrip('/')}/sessions/calendar/\n\n"
            "For your clients' privacy this message holds no other detail.\n"
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[therapist.email],
    )
    return 1


@shared_task
def reminders_send_due() -> int:
    """Remind the clients of every scheduled session (each of a series alike) at the practice's two
    times: ``reminder_hours`` before it, and again ``last_reminder_hours`` before it. A session
    moved gets both again for its new time; one cancelled gets none. When both are due at once
    (a session booked at short notice, a worker that was down), one message goes."""
    now = timezone.now()
    longest = max([*SessionPolicy.objects.values_list("reminder_hours", flat=True), settings.VIDEO_REMINDER_HOURS])
    due = Appointment.objects.filter(
        Q(reminder_sent_at__isnull=True) | Q(last_reminder_sent_at__isnull=True),
        status=AppointmentStatus.SCHEDULED,
        starts_at__gt=now,
        starts_at__lte=now + timedelta(hours=longest),
    )
    sent = 0
    for appointment in due.order_by("starts_at")[:1000]:
        policy = policy_for(appointment.practice_id)
        first_due = appointment.reminder_sent_at is None and appointment.starts_at <= now + timedelta(
            hours=policy.reminder_hours
        )
        last_due = (
            policy.last_reminder_hours > 0
            and appointment.last_reminder_sent_at is None
            and appointment.starts_at <= now + timedelta(hours=policy.last_reminder_hours)
        )
        if not (first_due or last_due):
            continue
        # Claim it first, so two workers never send the same reminder twice.
        unsent = Appointment.objects.filter(pk=appointment.pk, status=AppointmentStatus.SCHEDULED)
        if last_due:
            claimed = unsent.filter(last_reminder_sent_at__isnull=True).update(
                last_reminder_sent_at=now, reminder_sent_at=Coalesce("reminder_sent_at", Value(now))
            )
        else:
            claimed = unsent.filter(reminder_sent_at__isnull=True).update(reminder_sent_at=now)
        if claimed:
            sent += _send(appointment, "reminder")
    return sent
