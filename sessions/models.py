"""Appointments, the pre-session check-in, admission to the call, and the practice's session policy.

Nothing here holds media or signaling messages: those pass through the server and are never stored.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from sessions.regions import REGIONS
from teletherapy.fields import EncryptedTextField


class AppointmentKind(models.TextChoices):
    INDIVIDUAL = "individual", "Individual"
    COUPLE = "couple", "Couple"
    FAMILY = "family", "Family"


class AppointmentStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    CANCELLED = "cancelled", "Cancelled"
    ENDED = "ended", "Ended"


class Repeat(models.TextChoices):
    WEEKLY = "weekly", "Every week"
    BIWEEKLY = "biweekly", "Every other week"
    MONTHLY = "monthly", "Every month"


class AppointmentSeries(models.Model):
    """Sessions that repeat: each occurrence is an Appointment of its own (its own reminder, its
    own room), and they can be moved or cancelled one at a time or from one onward."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="+")
    therapist = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    repeat = models.CharField(max_length=16, choices=Repeat.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"{self.repeat} series {self.id}"


class Appointment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.PROTECT, related_name="appointments")
    therapist = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="appointments_led")
    kind = models.CharField(max_length=16, choices=AppointmentKind.choices, default=AppointmentKind.INDIVIDUAL)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=AppointmentStatus.choices, default=AppointmentStatus.SCHEDULED)
    clients = models.ManyToManyField("accounts.User", through="AppointmentParticipant", related_name="appointments")
    created_at = models.DateTimeField(default=timezone.now)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    last_reminder_sent_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    series = models.ForeignKey(
        AppointmentSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
    )
    # What was booked, when a client booked it online (its rules apply to moving it).
    session_type = models.ForeignKey("SessionType", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["practice", "starts_at"]),
            models.Index(fields=["status", "reminder_sent_at", "starts_at"], name="appointment_reminder_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} session at {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def is_joint(self) -> bool:
        return self.kind in (AppointmentKind.COUPLE, AppointmentKind.FAMILY)

    @property
    def minutes(self) -> int:
        return int((self.ends_at - self.starts_at).total_seconds() // 60)


class AppointmentParticipant(models.Model):
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="participants")
    client = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["appointment", "client"], name="participant_once")]

    def __str__(self) -> str:
        return f"{self.client_id} in {self.appointment_id}"


def default_join_before() -> int:
    return settings.VIDEO_JOIN_BEFORE_MINUTES


def default_join_after() -> int:
    return settings.VIDEO_JOIN_AFTER_MINUTES


def default_reminder_hours() -> int:
    return settings.VIDEO_REMINDER_HOURS


def default_last_reminder_hours() -> int:
    return settings.VIDEO_LAST_REMINDER_HOURS


class SessionPolicy(models.Model):
    """A practice's choices for video sessions. A practice without a row uses the settings' defaults."""

    practice = models.OneToOneField("accounts.Practice", on_delete=models.CASCADE, related_name="session_policy")
    join_before_minutes = models.PositiveSmallIntegerField(default=default_join_before)
    join_after_minutes = models.PositiveSmallIntegerField(default=default_join_after)
    relay_only = models.BooleanField(
        default=False, help_text="Route all media through the TURN relay, so participants never see each other's IP."
    )
    block_unlicensed_location = models.BooleanField(
        default=False, help_text="Refuse a client who is somewhere their therapist is not licensed (else: warn)."
    )
    reminder_hours = models.PositiveSmallIntegerField(default=default_reminder_hours)
    # A second reminder closer to the time (0: none); always shorter than the first.
    last_reminder_hours = models.PositiveSmallIntegerField(default=default_last_reminder_hours)
    # A client may cancel or move a session online until this many hours before it; after that
    # they ask their therapist, and the practice may charge a late cancellation.
    late_cancel_hours = models.PositiveSmallIntegerField(default=24)
    # A public page where someone not yet a client asks for a first session (sessions.services.requests).
    first_session_requests = models.BooleanField(
        default=False, help_text="People who are not yet clients may ask for a first session on a public page."
    )
    # The modifier a charge takes when its session was held mostly by audio alone, as the
    # practice's payers ask: 93 (CPT) or FQ (some payers, Medicare for behavioural health).
    audio_only_modifier = models.CharField(
        max_length=2, choices=[("93", "93"), ("FQ", "FQ")], default="93",
        help_text="The modifier for a session held by audio alone.",
    )  # fmt: skip
    # What the practice charges for a session the client missed, or cancelled inside the window
    # above (0: nothing); the therapist says which when cancelling it.
    no_show_fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    late_cancel_fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)

    class Meta:
        verbose_name_plural = "session policies"

    def __str__(self) -> str:
        return f"Session policy of practice {self.practice_id}"


class SessionMode(models.TextChoices):
    TELEHEALTH = "telehealth", "Video"
    IN_PERSON = "in_person", "In person"


class SessionType(models.Model):
    """What a client can book with a therapist: how long, for what fee, by video or in person, and
    the therapist's rules for it (a gap after each, how much notice, how far ahead)."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="session_types")
    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="session_types")
    name = models.CharField(max_length=80)
    minutes = models.PositiveSmallIntegerField(default=50)
    fee = models.DecimalField(max_digits=8, decimal_places=2, default=0)
    mode = models.CharField(max_length=16, choices=SessionMode.choices, default=SessionMode.TELEHEALTH)
    buffer_minutes = models.PositiveSmallIntegerField(default=10, help_text="Kept free after each session.")
    notice_hours = models.PositiveSmallIntegerField(default=24, help_text="The least notice a client may book with.")
    horizon_days = models.PositiveSmallIntegerField(default=60, help_text="How far ahead a client may book.")
    bookable = models.BooleanField(default=True, help_text="Clients may book it online.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["therapist_id", "minutes", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.minutes} min)"


class WorkingHours(models.Model):
    """A span of a weekday when a therapist sees clients, in the therapist's own time zone."""

    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="working_hours")
    weekday = models.PositiveSmallIntegerField(help_text="0 = Monday.")
    starts = models.TimeField()
    ends = models.TimeField()

    class Meta:
        verbose_name = verbose_name_plural = "working hours"
        ordering = ["therapist_id", "weekday", "starts"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends__gt=models.F("starts")), name="working_hours_end_after_start"
            ),
            models.CheckConstraint(condition=models.Q(weekday__lte=6), name="working_hours_weekday"),
        ]

    def __str__(self) -> str:
        return f"{self.therapist_id}: day {self.weekday} {self.starts:%H:%M}-{self.ends:%H:%M}"


class TimeOff(models.Model):
    """Days a therapist is away (a holiday, a conference): nothing is offered for booking in them.
    From the start of the first day to the end of the last, in the therapist's zone."""

    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "time off"
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")), name="time_off_ends_after")
        ]

    def __str__(self) -> str:
        return f"{self.therapist_id} away {self.starts_at:%Y-%m-%d} to {self.ends_at:%Y-%m-%d}"


class TherapistLicense(models.Model):
    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="licenses")
    region = models.CharField(max_length=16, choices=REGIONS)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["therapist", "region"], name="license_once")]

    def __str__(self) -> str:
        return f"{self.therapist_id} licensed in {self.region}"


class CheckIn(models.Model):
    """What a participant confirmed before a session: the privacy checklist and where they are.

    Recorded, not enforced: the checklist is the person's own promise to themself.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="check_ins")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    private_device = models.BooleanField(default=False)
    private_network = models.BooleanField(default=False)
    private_space = models.BooleanField(default=False)
    location = models.CharField(max_length=16, choices=REGIONS)
    # At home or elsewhere: the place of service a claim for the session names (10 or 02).
    at_home = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "check-in"
        verbose_name_plural = "check-ins"
        indexes = [models.Index(fields=["appointment", "user", "-created_at"])]

    def __str__(self) -> str:
        return f"Check-in of {self.user_id} for {self.appointment_id}"

    @property
    def checklist_done(self) -> bool:
        return self.private_device and self.private_network and self.private_space


class Admission(models.Model):
    """The therapist let this person out of the waiting room. Removal revokes it."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="admissions")
    user = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    admitted_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    admitted_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)
    departed_at = models.DateTimeField(
        null=True, blank=True, help_text="Their socket went away; back within the grace period, they are let in."
    )

    class Meta:
        indexes = [models.Index(fields=["appointment", "user"])]

    def __str__(self) -> str:
        return f"{self.user_id} admitted to {self.appointment_id}"


class MediumChange(models.Model):
    """A participant chose audio only, or went back to video, during a session (said by the call
    page over signaling): which medium the session was held in, for its charge's modifier."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="medium_changes")
    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    audio_only = models.BooleanField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.user_id} {'audio only' if self.audio_only else 'video'} at {self.at}"


class CalendarFeed(models.Model):
    """A therapist's private calendar feed (iCalendar): times and an opaque link per session,
    never a client's name. Only a digest of its secret is kept; renewing it makes a new one and
    the old address stops working."""

    therapist = models.OneToOneField("accounts.User", on_delete=models.CASCADE, related_name="calendar_feed")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"calendar feed of {self.therapist_id}"


class WaitlistEntry(models.Model):
    """A client's ask to be offered an earlier time with a therapist, for one of the therapist's
    session types; with ``appointment``, earlier than that session, which the new time replaces."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    client = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="waitlist_entries")
    session_type = models.ForeignKey(SessionType, on_delete=models.CASCADE, related_name="waitlist_entries")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    closed_at = models.DateTimeField(null=True, blank=True, help_text="When they left it or took a time.")

    class Meta:
        verbose_name_plural = "waitlist entries"
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "session_type"], condition=models.Q(closed_at__isnull=True), name="waitlist_one_open"
            )
        ]

    def __str__(self) -> str:
        return f"waitlist entry {self.pk} of {self.client_id}"


class FreedTime(models.Model):
    """A time a cancellation freed, offered to the therapist's waitlist: the first to accept takes it."""

    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    therapist = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    minutes = models.PositiveSmallIntegerField()
    freed_by = models.ForeignKey(Appointment, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    taken_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    taken_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["freed_by"], name="freed_time_once")]

    def __str__(self) -> str:
        return f"freed time {self.pk} of {self.therapist_id}"


class OfferOutcome(models.TextChoices):
    OPEN = "open", "Open"
    TAKEN = "taken", "Taken by them"
    GONE = "gone", "Taken by someone else"


class WaitlistOffer(models.Model):
    """One freed time offered to one waitlist entry, by an e-mail that holds only a link."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    freed = models.ForeignKey(FreedTime, on_delete=models.CASCADE, related_name="offers")
    entry = models.ForeignKey(WaitlistEntry, on_delete=models.CASCADE, related_name="offers")
    sent_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=8, choices=OfferOutcome.choices, default=OfferOutcome.OPEN)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["freed", "entry"], name="offer_once_per_entry")]

    def __str__(self) -> str:
        return f"offer {self.pk}"


class FirstSessionRequest(models.Model):
    """Someone not yet a client asking for a first session on the practice's public page: who and
    how to reach them and when suits them, nothing clinical; sealed, and read by the admins."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    practice = models.ForeignKey("accounts.Practice", on_delete=models.CASCADE, related_name="+")
    full_name = EncryptedTextField()
    email = EncryptedTextField()
    phone = EncryptedTextField(blank=True, default="")
    preferred_times = EncryptedTextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by = models.ForeignKey("accounts.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    invitation = models.ForeignKey(
        "accounts.Invitation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    declined = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"first-session request {self.pk}"
