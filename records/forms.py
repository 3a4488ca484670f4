from __future__ import annotations

from typing import Any

from django import forms

from accounts.forms import AccessibleForm
from records import scoring
from records.documented import DocumentedSession
from records.models import AssessmentKind, NoteTemplate
from records.services.notes import TEMPLATE_SECTIONS

# What each part of a structured note holds, shown under its box.
SECTION_PROMPTS = {
    "subjective": "What the client reports, in their words: mood, events, concerns.",
    "objective": "What you observed: appearance, affect, behaviour, scores of measures.",
    "assessment": "Your clinical reading: progress toward goals, risk, diagnosis.",
    "plan": "What comes next: interventions, homework, the next session.",
    "data": "What the client said and what you observed in the session.",
    "behavior": "The client's presentation and what they brought to the session.",
    "intervention": "What you did: techniques, exercises, topics.",
    "response": "How the client responded to the interventions.",
}


class NoteForm(AccessibleForm):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    session = forms.ChoiceField(
        label="Session this note documents",
        required=False,
        help_text="Its date becomes the date of service, and its length the note's length.",
    )
    service_date = forms.DateField(
        label="Date of service",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Leave empty to use the session's date, or today.",
    )
    minutes = forms.IntegerField(
        label="Length (minutes)",
        required=False,
        min_value=1,
        max_value=600,
        help_text="Leave empty to use the session's length.",
    )

    def __init__(
        self, *args: Any, template: str, sessions: list[DocumentedSession] | tuple[()] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.template = template
        choice = self.fields["session"]
        assert isinstance(choice, forms.ChoiceField)
        choice.choices = [("", "Not linked to a session")] + [(str(s.id), str(s)) for s in sessions]
        for name in TEMPLATE_SECTIONS[NoteTemplate(template)]:
            self.fields[name] = forms.CharField(
                label=name.title(),
                required=False,
                max_length=20_000,
                help_text=SECTION_PROMPTS.get(name, ""),
                widget=forms.Textarea(attrs={"rows": 4, "data-section": name}),
            )

    def sections(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(name, "") for name in TEMPLATE_SECTIONS[NoteTemplate(self.template)]}

    def service(self) -> dict[str, object]:
        """The session, date of service and length, as the note services take them."""
        return {
            "session_id": self.cleaned_data.get("session") or None,
            "service_date": self.cleaned_data.get("service_date"),
            "minutes": self.cleaned_data.get("minutes"),
        }


class NewNoteForm(AccessibleForm):
    template = forms.ChoiceField(
        choices=NoteTemplate.choices, label="Template", widget=forms.Select(attrs={"id": "new-template"})
    )


class AddendumForm(AccessibleForm):
    body = forms.CharField(label="Addendum", max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))


class AssignForm(AccessibleForm):
    kind = forms.ChoiceField(
        choices=AssessmentKind.choices, label="Assessment", widget=forms.Select(attrs={"id": "assign-kind"})
    )


class AssessmentForm(AccessibleForm):
    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for index, text in enumerate(scoring.ITEMS[kind], start=1):
            self.fields[f"item{index}"] = forms.TypedChoiceField(
                label=f"{index}. {text}", choices=scoring.ANSWER_CHOICES, coerce=int, widget=forms.RadioSelect
            )

    def answers(self) -> list[int]:
        return [self.cleaned_data[f"item{i}"] for i in range(1, len(self.fields) + 1)]


class EmergencyForm(AccessibleForm):
    reason = forms.CharField(
        label="Why do you need this chart now?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="At least 20 characters. Access lasts 60 minutes, is flagged in the audit log, "
        "and the admins are told.",
    )


class PsychotherapyNoteForm(AccessibleForm):
    body = forms.CharField(
        label="Psychotherapy note (only you will ever see it)",
        max_length=50_000,
        widget=forms.Textarea(attrs={"rows": 6}),
    )


class ChartForm(AccessibleForm):
    date_of_birth = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    phone = forms.CharField(required=False, max_length=500)
    address = forms.CharField(required=False, max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    emergency_contact = forms.CharField(required=False, max_length=500)
    is_minor = forms.BooleanField(required=False, label="Client is a minor")
    guardian_sees_notes = forms.BooleanField(required=False, label="Guardian may read shared notes and assessments")


class BillingForm(AccessibleForm):
    service_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    cpt_code = forms.CharField(max_length=5, label="CPT code")
    diagnosis_codes = forms.CharField(max_length=200, label="ICD-10-CM codes (comma-separated)")
    fee = forms.DecimalField(max_digits=8, decimal_places=2, min_value=0)
