from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.password_validation import (
    password_validators_help_text_html,
    validate_password,
)
from django.core.exceptions import ValidationError

from accounts.models import Role, User


def password_field(autocomplete: str, *, explain: bool = False, required: bool = True) -> forms.CharField:
    """A password input that keeps spaces and, for new passwords, states the rules."""
    return forms.CharField(
        required=required,
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        help_text=password_validators_help_text_html() if explain else "",
    )


class AccessibleForm(forms.Form):
    """Ties each field's error text to its input, so screen readers announce it with the field."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name not in self.fields:
                continue
            bound = self[name]
            described = [f"{bound.auto_id}_error"]
            if self.fields[name].help_text:
                described.append(f"{bound.auto_id}_helptext")
            self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)


class LoginForm(AccessibleForm):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = password_field("current-password")


class ForgotPasswordForm(AccessibleForm):
    email = forms.EmailField(
        label="Your e-mail address",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class NewPasswordForm(AccessibleForm):
    password = forms.CharField(
        label="New password",
        max_length=4096,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password", "autofocus": True}),
        help_text=password_validators_help_text_html(),
    )


class CodeForm(AccessibleForm):
    code = forms.CharField(
        label="Code",
        max_length=32,
        help_text="The 6-digit code from your authenticator app, or one of your backup codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text", "autofocus": True}),
    )

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip()
        if not code:
            raise ValidationError("Enter a code.")
        return code


class EnrollForm(AccessibleForm):
    code = forms.RegexField(
        label="Code from your app",
        regex=r"^\s*\d{3}\s?\d{3}\s*$",
        max_length=16,
        error_messages={"invalid": "Enter the 6-digit code your app shows."},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


class ReauthForm(AccessibleForm):
    password = password_field("current-password", required=False)
    code = forms.CharField(required=False, max_length=32, label="or a code from your authenticator")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("password") and not data.get("code"):
            raise ValidationError("Enter your password or a code from your authenticator.")
        return data


class PasswordChangeForm(AccessibleForm):
    current_password = password_field("current-password")
    new_password = password_field("new-password", explain=True)
    confirm_password = password_field("new-password")

    def __init__(self, *args: Any, user: User, **kwargs: Any) -> None:
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_current_password(self) -> str:
        value = self.cleaned_data["current_password"]
        if not self.user.check_password(value):
            raise ValidationError("That is not your current password.")
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        new, confirm = data.get("new_password"), data.get("confirm_password")
        if new and confirm and new != confirm:
            self.add_error("confirm_password", "The two new passwords do not match.")
        elif new:
            try:
                validate_password(new, user=self.user)
            except ValidationError as exc:
                self.add_error("new_password", exc)
        return data


class AcceptInvitationForm(AccessibleForm):
    full_name = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "name"}))
    # One field: a password manager fills and keeps it, and a typing slip is put right with
    # "Forgot your password?" rather than a second field everyone must fill.
    password = password_field("new-password", explain=True)


class InvitationForm(AccessibleForm):
    email = forms.EmailField(max_length=254)
    full_name = forms.CharField(max_length=150, required=False, label="Name (optional)")
    role = forms.ChoiceField(choices=())
    guardian_for = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, label="Guardian of (for a guardian invitation)"
    )

    def __init__(self, *args: Any, roles: set[str], clients: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["role"]).choices = [(r.value, r.label) for r in Role if r.value in roles]
        cast(forms.ModelChoiceField, self.fields["guardian_for"]).queryset = clients
        if Role.GUARDIAN not in roles:
            del self.fields["guardian_for"]


class RoleChangeForm(AccessibleForm):
    role = forms.ChoiceField(choices=[(r.value, r.label) for r in (Role.CLIENT, Role.THERAPIST, Role.ADMIN)])
    change = forms.ChoiceField(choices=[("grant", "Grant"), ("revoke", "Revoke")])
