from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.utils import timezone

from accounts.forms import AccessibleForm
from accounts.models import User
from accounts.zones import real_zones
from sessions.models import AppointmentKind, Repeat
from sessions.regions import REGIONS


class WhenForm(AccessibleForm):
    starts_at = forms.DateTimeField(
        label="Starts at (your time zone)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    minutes = forms.IntegerField(label="Length in minutes", min_value=10, max_value=240, initial=50)

    def starts(self) -> datetime:
        value: datetime = self.cleaned_data["starts_at"]
        # A datetime-local value is in the person's own zone (activated by the middleware).
        return value if timezone.is_aware(value) else timezone.make_aware(value)


class ScheduleForm(WhenForm):
    kind = forms.ChoiceField(label="Kind of session", choices=AppointmentKind.choices)
    clients = forms.ModelMultipleChoiceField(
        label="Clients", queryset=User.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    repeat = forms.ChoiceField(label="Repeats", choices=[("", "Does not repeat"), *Repeat.choices], required=False)
    count = forms.IntegerField(
        label="Number of sessions (for a repeating session)", min_value=2, max_value=52, required=False
    )
    until = forms.DateField(
        label="Or until (for a repeating session)",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d"],
    )

    field_order = ["kind", "clients", "starts_at", "minutes", "repeat", "count", "until"]

    def __init__(self, *args: Any, caseload: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["clients"].queryset = caseload  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("repeat"):
            if data.get("count") is None and data.get("until") is None:
                self.add_error("count", "Say how many sessions, or until when.")
            elif data.get("count") is not None and data.get("until") is not None:
                self.add_error("until", "Give the number of sessions or an end date, not both.")
        return data


class ScopeForm(AccessibleForm):
    """For a session that repeats: this one only, or this one and every later one."""

    scope = forms.ChoiceField(
        label="Which sessions",
        choices=[("this", "Only this session"), ("onward", "This and every later session of the series")],
        initial="this",
        widget=forms.RadioSelect,
    )


class LicensesForm(AccessibleForm):
    regions = forms.MultipleChoiceField(
        label="States where you are licensed",
        choices=[r for r in REGIONS if r[0] != "OUTSIDE-US"],
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )


class PolicyForm(AccessibleForm):
    join_before_minutes = forms.IntegerField(
        label="Joining opens (minutes before the start)", min_value=0, max_value=120
    )
    join_after_minutes = forms.IntegerField(label="Joining closes (minutes after the end)", min_value=0, max_value=240)
    reminder_hours = forms.IntegerField(
        label="Remind clients of every session (hours before)", min_value=1, max_value=168
    )
    last_reminder_hours = forms.IntegerField(
        label="And again, closer to the time (hours before; 0 for no second reminder)", min_value=0, max_value=167
    )
    relay_only = forms.BooleanField(
        label="Relay all media through the TURN server, so participants never learn each other's IP address",
        required=False,
    )
    block_unlicensed_location = forms.BooleanField(
        label="Refuse a client who is in a state where their therapist is not licensed (otherwise: warn the therapist)",
        required=False,
    )
    late_cancel_hours = forms.IntegerField(
        label="Clients may move or cancel online until (hours before the session)", min_value=0, max_value=168
    )
    first_session_requests = forms.BooleanField(
        label="People who are not yet clients may ask for a first session on a public page", required=False
    )
    audio_only_modifier = forms.ChoiceField(
        label="Modifier for a session held by audio alone (as your payers ask)",
        choices=[("93", "93 (CPT)"), ("FQ", "FQ (Medicare and some payers)")],
        required=False,
    )
    no_show_fee = forms.DecimalField(
        label="Fee for a missed session (0 for none)", min_value=0, max_value=99999, decimal_places=2, required=False
    )
    late_cancel_fee = forms.DecimalField(
        label="Fee for a cancellation inside that window (0 for none)", min_value=0, max_value=99999,
        decimal_places=2, required=False,
    )  # fmt: skip


class TimeZoneForm(AccessibleForm):
    """A searchable field (a datalist of real zones, the practice's and the device's first);
    empty means the practice's zone."""

    zone = forms.CharField(
        label="Show times in",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"list": "zone-list", "autocomplete": "off", "spellcheck": "false"}),
    )

    def clean_zone(self) -> str:
        zone = self.cleaned_data["zone"].strip().replace(" ", "_")
        if zone and zone not in real_zones():
            raise forms.ValidationError("Choose a place from the list, such as America/New_York or Europe/London.")
        return zone


DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class HoursForm(AccessibleForm):
    """One span of working hours per weekday; a day left empty is a day off."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for number, day in enumerate(DAYS):
            for end in ("from", "to"):
                self.fields[f"d{number}_{end}"] = forms.TimeField(
                    label=f"{day} {end}", required=False, widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
                )

    def days(self) -> list[tuple[str, Any, Any]]:
        return [(day, self[f"d{n}_from"], self[f"d{n}_to"]) for n, day in enumerate(DAYS)]

    def spans(self) -> list[tuple[int, Any, Any]]:
        found = []
        for number, day in enumerate(DAYS):
            starts, ends = self.cleaned_data.get(f"d{number}_from"), self.cleaned_data.get(f"d{number}_to")
            if bool(starts) != bool(ends):
                self.add_error(f"d{number}_to", f"Give {day} both a start and an end, or neither.")
            elif starts and ends:
                found.append((number, starts, ends))
        return found


class SessionTypeForm(AccessibleForm):
    name = forms.CharField(label="Name clients see", max_length=80)
    minutes = forms.IntegerField(label="Length in minutes", min_value=10, max_value=240, initial=50)
    fee = forms.DecimalField(label="Fee", min_value=0, max_value=99999, decimal_places=2, initial=0)
    mode = forms.ChoiceField(label="Where", choices=[("telehealth", "Video"), ("in_person", "In person")])
    buffer_minutes = forms.IntegerField(label="Minutes kept free after it", min_value=0, max_value=120, initial=10)
    notice_hours = forms.IntegerField(label="Least notice (hours)", min_value=0, max_value=720, initial=24)
    horizon_days = forms.IntegerField(label="Bookable up to (days ahead)", min_value=1, max_value=365, initial=60)
    bookable = forms.BooleanField(label="Clients may book it online", required=False, initial=True)


class TimeOffForm(AccessibleForm):
    first = forms.DateField(label="First day off", widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label="Last day off", widget=forms.DateInput(attrs={"type": "date"}))
