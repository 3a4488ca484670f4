"""Load a demo practice, for trying the platform. Refused in production."""

from __future__ import annotations

import base64
import secrets
import zoneinfo
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import GuardianLink, Practice, Role, TOTPDevice, User
from accounts.selectors import user_has_confirmed_device
from accounts.services.enrollment import enrollment_link_create
from accounts.services.mfa import totp_provisioning_uri
from accounts.services.practices import practice_create, practice_logo_set, user_create
from billing.services.claims import coverage_set
from billing.services.ledger import payment_record
from records.models import BillingRecord, BillingStatus, ClientChart
from records.selectors import Access
from records.services import chart_create
from records.services.diagnoses import diagnosis_add
from records.services.fees import fees_set, identity_set
from sessions.models import Appointment, AppointmentStatus, SessionPolicy
from sessions.services import appointment_schedule, licenses_set
from sessions.services.booking import hours_set, session_type_save


def _demo_logo() -> bytes:
    """A river under a sun, drawn here: the demo practice's logo, as an admin would upload one."""
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (240, 240), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((8, 8, 232, 232), fill=(16, 94, 110, 255))
    draw.ellipse((78, 40, 162, 124), fill=(246, 196, 83, 255))
    for top in (128, 164):
        draw.arc((24, top, 124, top + 40), 200, 340, fill=(255, 255, 255, 255), width=10)
        draw.arc((116, top, 216, top + 40), 20, 160, fill=(255, 255, 255, 255), width=10)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


DEMO_SLUG = "riverside-demo"
DEMO_PASSWORD = "Riverside-demo-2026"  # noqa: S105 - printed for people trying the demo
PEOPLE = [
    ("admin@riverside.example", "Avery Admin", [Role.ADMIN]),
    ("director@riverside.example", "Dr. Lena Park", [Role.ADMIN, Role.THERAPIST]),
    ("therapist@riverside.example", "Dr. Theo Okafor", [Role.THERAPIST]),
    ("therapist2@riverside.example", "Dr. Mina Santos", [Role.THERAPIST]),
    ("sam@riverside.example", "Sam Rivera", [Role.CLIENT]),
    ("alex@riverside.example", "Alex Rivera", [Role.CLIENT]),
    ("jordan@riverside.example", "Jordan Lee", [Role.CLIENT]),
    ("casey@riverside.example", "Casey Nguyen", [Role.CLIENT]),
    ("morgan@riverside.example", "Morgan Reyes", [Role.CLIENT]),
    ("parent@riverside.example", "Pat Nguyen", [Role.GUARDIAN]),
    ("riley@riverside.example", "Riley Chen", [Role.CLIENT]),
]
# Accounts that show a new person's first sign-in: no second factor yet, a set-up link instead.
FIRST_SIGN_IN = ("therapist@riverside.example", "alex@riverside.example")
DEMO_DEVICE = "Demo authenticator"
NOTES = {
    "director@riverside.example": "clinical director: an admin who also sees Riley",
    "sam@riverside.example": "couple, with Alex",
    "alex@riverside.example": "couple, with Sam",
    "jordan@riverside.example": "individual adult client",
    "casey@riverside.example": "minor client",
    "morgan@riverside.example": "has a video session with Dr. Santos open to join now",
    "parent@riverside.example": "guardian of Casey",
    "riley@riverside.example": "Dr. Park's client, with a session today",
}


def _shown(folder: Path) -> str:
    """A folder as the person at the terminal would type it: relative to the project when inside it."""
    try:
        return str(folder.resolve().relative_to(settings.BASE_DIR))
    except ValueError:
        return str(folder)


class Command(BaseCommand):
    help = "Create the demo practice (an admin, two therapists, a couple, an adult client, a minor and a guardian)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--quiet-if-present", action="store_true", help="Say nothing more if the demo exists.")

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("The demo practice cannot be loaded in production.")
        if Practice.objects.filter(slug=DEMO_SLUG).exists():
            self.stdout.write("The demo practice is already loaded.")
        else:
            self._create()
        self._session_open_now()
        self._session_today()
        self._print_logins()

    @transaction.atomic
    def _create(self) -> None:
        practice = practice_create(name="Riverside Counselling (demo)", slug=DEMO_SLUG, time_zone="America/New_York")
        # The demo chooses to be named on the server's index of fact sheets (a practice's own choice);
        # marked as the demo, a production server refuses every sign-in to it.
        type(practice).objects.filter(pk=practice.pk).update(listed_publicly=True, is_demo=True)
        users = {}
        for email, name, roles in PEOPLE:
            users[email] = user_create(
                practice=practice, email=email, full_name=name, password=DEMO_PASSWORD, roles=roles
            )
            # An authenticator with a known key. For most accounts it is already set up, and
            # `manage.py demo_codes` prints its current code, so each role can be tried in a minute;
            # for the first-sign-in accounts it is pending: add it to an app from the key in
            # data/demo-accounts.txt and confirm a code, as a new person would.
            secret = base64.b32encode(secrets.token_bytes(20)).decode("ascii")
            ready = email not in FIRST_SIGN_IN
            TOTPDevice(
                user=users[email], name=DEMO_DEVICE if ready else "Authenticator app", confirmed=ready,
                confirmed_at=timezone.now() if ready else None, secret=secret,
            ).save()  # fmt: skip
        GuardianLink.objects.create(guardian=users["parent@riverside.example"], client=users["casey@riverside.example"])
        therapist = users["therapist@riverside.example"]
        for email in (
            "sam@riverside.example",
            "alex@riverside.example",
            "jordan@riverside.example",
            "casey@riverside.example",
            "morgan@riverside.example",
        ):
            # Jordan's care team has both therapists; Morgan is Dr. Santos's; for the others, she would
            # need emergency access.
            second = users["therapist2@riverside.example"]
            team = {"jordan": [therapist, second], "morgan": [second]}.get(email.split("@")[0], [therapist])
            chart_create(actor=None, client=users[email], therapists=team, is_minor=email.startswith("casey"))
        chart_create(
            actor=None, client=users["riley@riverside.example"], therapists=[users["director@riverside.example"]]
        )
        # Tomorrow in working hours, in the practice's own zone: 10:00, 13:00 and 15:00.
        zone = zoneinfo.ZoneInfo(practice.time_zone)
        day = (timezone.now().astimezone(zone) + timedelta(days=1)).date()
        tomorrow = datetime.combine(day, time(10, 0), tzinfo=zone)
        plan = [
            ("couple", ["sam@riverside.example", "alex@riverside.example"], 0),
            ("individual", ["jordan@riverside.example"], 3),
            ("individual", ["casey@riverside.example"], 5),
        ]
        for kind, emails, hours in plan:
            appointment_schedule(
                therapist=therapist,
                clients=[users[e] for e in emails],
                kind=kind,
                starts_at=tomorrow + timedelta(hours=hours),
                notify=False,  # demo addresses: nobody to tell
            )
        licenses_set(therapist=therapist, regions=["US-NY", "US-NJ", "US-CT"], context=None)
        licenses_set(therapist=users["therapist2@riverside.example"], regions=["US-NY"], context=None)
        practice_logo_set(actor=users["admin@riverside.example"], context=None, data=_demo_logo())
        # Booking online: Dr. Okafor's and Dr. Santos's working hours and what their clients may book;
        # the public page to ask for a first session is on.
        second = users["therapist2@riverside.example"]
        hours_set(therapist=therapist, spans=[(d, time(9), time(17)) for d in range(5)], context=None)
        hours_set(therapist=second, spans=[(d, time(10), time(18)) for d in range(4)], context=None)
        for who, name, minutes, fee in (
            (therapist, "Individual session", 50, "150"),
            (therapist, "Check-in", 25, "80"),
            (second, "Individual session", 50, "140"),
        ):
            session_type_save(therapist=who, context=None, name=name, minutes=minutes, fee=fee, buffer_minutes=10,
                              notice_hours=24, horizon_days=60)  # fmt: skip
        SessionPolicy.objects.update_or_create(practice=practice, defaults={"first_session_requests": True})
        # The practice's fees, which charges drafted from sessions take.
        fees_set(actor=users["admin@riverside.example"], context=None, fees={
            "90791": "200", "90832": "90", "90834": "150", "90837": "180", "90846": "150", "90847": "160",
            "90839": "200", "90840": "100", "90853": "60", "90785": "25",
        })  # fmt: skip
        _demo_billing(users, practice)

    def _session_open_now(self) -> None:
        """Morgan always has a session with Dr. Santos open to join, so a call can be tried at once."""
        morgan = User.objects.get(email="morgan@riverside.example")
        open_now = Appointment.objects.filter(
            participants__client=morgan,
            status=AppointmentStatus.SCHEDULED,
            starts_at__lte=timezone.now() + timedelta(minutes=10),
            ends_at__gte=timezone.now() + timedelta(minutes=20),
        )
        if not open_now.exists():
            appointment_schedule(
                therapist=User.objects.get(email="therapist2@riverside.example"),
                clients=[morgan],
                kind="individual",
                starts_at=timezone.now().replace(second=0, microsecond=0) + timedelta(minutes=5),
                notify=False,  # demo addresses: nobody to tell
            )

    def _session_today(self) -> None:
        """Dr. Park (admin and therapist) sees Riley later today, so that role's home page has a day."""
        riley = User.objects.filter(email="riley@riverside.example").first()
        if riley is None:  # a demo loaded before Riley joined it
            return
        now = timezone.now()
        if Appointment.objects.filter(
            participants__client=riley, status=AppointmentStatus.SCHEDULED, starts_at__gt=now
        ).exists():
            return
        # Later today: on the hour, at least an hour and a half from now (an hour free before it,
        # for trying a call of one's own with a new client).
        starts = (now + timedelta(minutes=90)).replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
        appointment_schedule(
            therapist=User.objects.get(email="director@riverside.example"),
            clients=[riley],
            kind="individual",
            starts_at=starts,
            notify=False,  # demo addresses: nobody to tell
        )

    def _print_logins(self) -> None:
        """A short block for the terminal (the run command shows it once the server answers), and
        every detail (authenticator keys, set-up links) in data/demo-accounts.txt."""
        site = (settings.SITE_URL or "").rstrip("/")
        folder = _shown(settings.DATA_DIR)
        short = [
            self.style.SUCCESS("Riverside Counselling (demo)") + f" is at {site}/",
            f"Every account's password: {DEMO_PASSWORD}",
            "The second step: `make codes` prints each account's current authenticator code (demo only).",
            "",
        ]
        details = [
            "Riverside Counselling (demo): every account, its authenticator key and, for a new account, its",
            "set-up link (it stands for the e-mail a new account is sent; each works once, for a day).",
            f"Every account's password: {DEMO_PASSWORD}",
            "A key can be added to an authenticator app from its otpauth:// address. For a passkey instead, open the",
            "set-up link in Chromium: a phone nearby, this computer's screen lock, or Chromium's own (DevTools >",
            "More tools > WebAuthn > Enable virtual authenticator environment > Add).",
            "",
        ]
        roles_of = {
            email: " and ".join([str(roles[0].label), *(str(r.label).lower() for r in roles[1:])])
            for email, _name, roles in PEOPLE
        }
        wide, email_wide = max(map(len, roles_of.values())), max(len(email) for email, _n, _r in PEOPLE)
        for email, _name, _roles in PEOPLE:
            user = User.objects.get(email=email)
            device = TOTPDevice.objects.filter(user=user).order_by("-created_at").first()
            role = roles_of[email]
            note = f"  {NOTES[email]}" if email in NOTES else ""
            short.append(f"  {role:<{wide}}  {email:<{email_wide}}{note}".rstrip())
            details.append(f"  {role:<{wide}}  {email}{note}".rstrip())
            if not user_has_confirmed_device(user=user):
                link = enrollment_link_create(user=user, lifetime=timedelta(days=1))
                short.append(f"  {'':<{wide}}  new account: set up its second factor at {link}")
                details.append(f"                  set-up link: {link}")
            if device is not None and (device.name == DEMO_DEVICE or not device.confirmed):
                details.append(f"                  {totp_provisioning_uri(device)}")
        short += [
            "",
            "Two roles side by side: sign in to the second in a private window or another browser.",
            "E-mails the platform sends are printed below as they go.",
            f"Logs: {folder}/*.log. Keys for an authenticator app: {folder}/demo-accounts.txt.",
        ]
        path = settings.DATA_DIR / "demo-accounts.txt"
        path.write_text("\n".join(details) + "\n")
        path.chmod(0o600)
        self.stdout.write("\n".join(short))


def _demo_billing(users: dict[str, User], practice: Any) -> None:
    """The practice's identifiers and fees for missed sessions; Jordan's insurance, diagnosis and
    last month's three sessions, one paid: an account, a statement and a claim to look at."""
    admin, therapist = users["admin@riverside.example"], users["therapist@riverside.example"]
    identity_set(actor=admin, context=None, npi="1234567893", tax_id="12-3456789", taxonomy="261QM0801X",
                 address="100 River Road, Suite 2\nHudson, NY 12534-1234")  # fmt: skip
    identity_set(actor=admin, context=None, therapist_id=therapist.pk, npi="1245319599", taxonomy="103T00000X",
                 licence="Psychologist 012345 NY")  # fmt: skip
    SessionPolicy.objects.filter(practice=practice).update(no_show_fee=Decimal("75"), late_cancel_fee=Decimal("50"))
    jordan = users["jordan@riverside.example"]
    chart = ClientChart.objects.get(client=jordan)
    chart.date_of_birth, chart.address = "1991-03-14", "22 Orchard Lane\nHudson, NY 12534"
    chart.save(update_fields=["date_of_birth", "address"])
    month = (timezone.localdate().replace(day=1) - timedelta(days=1)).replace(day=1)
    diagnosis_add(actor=therapist, chart=chart, access=Access.CARE_TEAM, code="F41.1",
                  noted_on=month - timedelta(days=20), context=None)  # fmt: skip
    for week in range(3):
        BillingRecord.objects.create(
            chart=chart, service_date=month + timedelta(days=2 + 7 * week), cpt_code="90834", modifier="95",
            place_of_service="10", minutes=48, units=1, diagnosis_codes="F41.1", fee=Decimal("150"),
            status=BillingStatus.SUBMITTED, created_by=therapist,
        )  # fmt: skip
    coverage_set(actor=therapist, chart=chart, access=Access.CARE_TEAM, payer_name="Hudson Valley Health Plan",
                 payer_id="HVHP1", member_id="HV123456789", group_number="G-4410", context=None)  # fmt: skip
    payment_record(actor=admin, chart=chart, access=Access.ADMIN, amount="30", method="card",
                   received_on=month + timedelta(days=3), reference="card terminal 0417", context=None)  # fmt: skip
