from __future__ import annotations

from django import forms

from accounts.forms import AccessibleForm
from consent.models import ConsentKind


class SignForm(AccessibleForm):
    typed_name = forms.CharField(
        label="Type your full name to sign",
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    confirm_read = forms.BooleanField(label="I have read this document and I understand it.", required=False)


class WithdrawForm(AccessibleForm):
    reason = forms.CharField(
        label="Reason (optional)",
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class DraftForm(AccessibleForm):
    body = forms.CharField(
        label="Text (Markdown)",
        max_length=100_000,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 24, "spellcheck": "true"}),
        help_text="Headings with #, lists with -, emphasis with *text*. HTML is shown as plain text.",
    )


class PublishForm(AccessibleForm):
    requires_reconsent = forms.BooleanField(
        label="Everyone must sign this version again",
        required=False,
        initial=True,
        help_text="Leave ticked for a change that matters to signers. Untick for corrections that do not change "
        "what people agree to; their earlier signatures then stay valid.",
    )


class AgreementForm(AccessibleForm):
    text = forms.CharField(
        label="Agreement with this person",
        max_length=5_000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="For example: what they asked to keep between you, and what you told them you would do.",
    )


class RequestForm(AccessibleForm):
    kind = forms.ChoiceField(choices=ConsentKind.choices)
