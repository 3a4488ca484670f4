"""Admins and therapists: invitations, members and roles."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts import duties, services
from accounts.forms import InvitationForm, RoleChangeForm
from accounts.models import PasskeyDevice, Practice, Role
from accounts.office_hours import DAY_NAMES, days_of, describe
from accounts.rules import mfa_required, role_required
from accounts.selectors import (
    invitation_get_for_user,
    invitations_visible_to,
    member_get_for_admin,
    passkeys_of,
    practice_logo_digest,
    practice_logo_of,
    practice_members,
    user_has_confirmed_device,
)
from accounts.services import password_reset, recovery
from accounts.services.invitations import roles_invitable_by
from accounts.services.members import GRANTABLE_ROLES
from accounts.services.practices import (
    LOGO_FORMATS,
    LOGO_MAX_BYTES,
    practice_currency_set,
    practice_logo_remove,
    practice_logo_set,
    practice_office_hours_set,
    sign_in_policy_set,
)
from accounts.types import AuthedRequest
from teletherapy.confirm import ask, confirmed
from teletherapy.context import context_of
from teletherapy.errors import Denial, ServiceError, error_text
from teletherapy.pagination import paginate


def _clients(request: AuthedRequest):
    return request.user.practice.members.filter(role_grants__role=Role.CLIENT, is_active=True).order_by("full_name")


@role_required(Role.ADMIN, Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def invitations_view(request: AuthedRequest) -> HttpResponse:
    roles = roles_invitable_by(request.user)
    form = InvitationForm(request.POST or None, roles=roles, clients=_clients(request))
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                invitation, _token = services.invitation_send(
                    actor=request.user,
                    context=context_of(request),
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    full_name=form.cleaned_data.get("full_name", ""),
                    guardian_for=form.cleaned_data.get("guardian_for"),
                )
            except ServiceError as error:
                form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
                status = 400
            else:
                messages.success(request, f"Invitation sent to {invitation.email}. It expires in 72 hours.")
                return redirect("accounts:invitations")
        else:
            status = 400
    page = paginate(request, invitations_visible_to(user=request.user), key="-created_at")
    context = {"form": form, "invitations": page.items, "page": page}
    return render(request, "accounts/invitations.html", context, status=status)


@role_required(Role.ADMIN, Role.THERAPIST)
@require_POST
def invitation_revoke_view(request: AuthedRequest, invitation_id: uuid.UUID) -> HttpResponse:
    invitation = invitation_get_for_user(user=request.user, invitation_id=invitation_id)
    try:
        services.invitation_revoke(actor=request.user, context=context_of(request), invitation=invitation)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"The invitation for {invitation.email} was revoked.")
    return redirect("accounts:invitations")


@role_required(Role.ADMIN)
def members_view(request: AuthedRequest) -> HttpResponse:
    page = paginate(request, practice_members(practice=request.user.practice), key="full_name")
    members = list(page.items)
    with_passkey = set(PasskeyDevice.objects.filter(user__in=members).values_list("user_id", flat=True))
    context = {
        "members": members,
        "page": page,
        "role_form": RoleChangeForm(),
        "with_passkey": with_passkey,
        "practice": request.user.practice,
        "currencies": Practice._meta.get_field("currency").choices,
        "logo": practice_logo_digest(practice_id=request.user.practice_id),
        "weekdays": list(enumerate(DAY_NAMES)),
        "office_days": days_of(request.user.practice),
        "logo_formats": ", ".join(LOGO_FORMATS.values()),
        "passkey_grace_days": settings.PASSKEY_GRACE_DAYS,
    }
    return render(request, "accounts/members.html", context)


@role_required(Role.ADMIN)
@require_POST
def practice_currency_view(request: AuthedRequest) -> HttpResponse:
    try:
        practice = practice_currency_set(
            actor=request.user, context=context_of(request), currency=request.POST.get("currency", "")
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"Fees are now shown in {practice.get_currency_display()}.")
    return redirect("accounts:members")


@role_required(Role.ADMIN)
@require_POST
def practice_office_hours_view(request: AuthedRequest) -> HttpResponse:
    try:
        practice = practice_office_hours_set(
            actor=request.user, context=context_of(request), days=request.POST.getlist("days"),
            opens=request.POST.get("opens", ""), closes=request.POST.get("closes", ""),
        )  # fmt: skip
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        hours = describe(practice)
        messages.success(request, f"Office hours: {hours}." if hours else "Office hours cleared.")
    return redirect("accounts:members")


@role_required(Role.ADMIN)
@require_POST
def practice_logo_view(request: AuthedRequest) -> HttpResponse:
    upload = request.FILES.get("logo")
    try:
        if upload is not None and upload.size is not None and upload.size > LOGO_MAX_BYTES:
            raise ServiceError("The file is over 2 MB. Upload a smaller image.", field="logo")  # not read at all
        practice_logo_set(
            actor=request.user, context=context_of(request), data=upload.read() if upload is not None else b""
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "The logo was saved. It shows at the top of every page for the practice's members.")
    return redirect(reverse("accounts:members") + "#logo-h")


@role_required(Role.ADMIN)
@require_POST
def practice_logo_remove_view(request: AuthedRequest) -> HttpResponse:
    if not confirmed(request):
        return ask(
            request,
            title="Remove the practice's logo?",
            consequences=["take the logo off every page, for every member;", "show the practice's name alone."],
            button="Remove the logo",
            back=reverse("accounts:members") + "#logo-h",
            undo="Upload it again at any time.",
        )
    try:
        practice_logo_remove(actor=request.user, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, "The logo was removed. Pages show the practice's name alone.")
    return redirect(reverse("accounts:members") + "#logo-h")


@mfa_required
@require_GET
def practice_logo_image_view(request: AuthedRequest, digest: str) -> HttpResponse:
    """The logo, for members of its own practice. Like every signed-in page it is not kept in the
    browser's cache: on a shared computer, a cached logo would tell whose practice was visited.
    The address carries the image's hash, so a new logo never shows an old one."""
    logo = practice_logo_of(user=request.user, digest=digest)
    response = HttpResponse(bytes(logo.image), content_type="image/png")
    response["Content-Disposition"] = 'inline; filename="logo.png"'
    return response


@role_required(Role.ADMIN)
@require_POST
def sign_in_policy_view(request: AuthedRequest) -> HttpResponse:
    sign_in_policy_set(
        actor=request.user,
        context=context_of(request),
        passkeys_required_for_staff=request.POST.get("passkeys_required_for_staff") == "1",
        passwordless=request.POST.get("passwordless_sign_in") == "1",
    )
    messages.success(request, "The sign-in policy was saved.")
    return redirect("accounts:members")


@role_required(Role.ADMIN)
@require_http_methods(["GET"])
def member_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    """One member: their roles (each granted or revoked here), how they sign in, and whether they
    may sign in at all (deactivate, or reactivate)."""
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    roles = set(member.role_names())
    context = {
        "member": member,
        "roles": [(str(role), role.label, str(role) in roles) for role in GRANTABLE_ROLES],
        "guardian": "guardian" in roles,
        "second_factor": user_has_confirmed_device(user=member),
        "passkeys": passkeys_of(user=member).count(),
        "themself": member.pk == request.user.pk,
        "awaiting_confirmation": member.has_role(Role.THERAPIST) and duties.confirmation_missing(member),
        "can_confirm": duties.can_confirm(admin=request.user, member=member),
    }
    return render(request, "accounts/member.html", context)


@role_required(Role.ADMIN)
@require_POST
def member_password_reset_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    """E-mail a member a link to choose a new password: it goes to their address, not to the admin,
    and their second factor is still asked for afterwards."""
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    try:
        password_reset.password_reset_send_for(admin=request.user, member=member, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"A link to choose a new password is on its way to {member.email}.")
    return redirect("accounts:member", member.pk)


@role_required(Role.ADMIN)
@require_POST
def member_confirm_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    """A second admin confirms a therapist account another admin made (accounts.duties)."""
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    try:
        duties.staff_confirm(admin=request.user, member=member, context=context_of(request))
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{member.full_name} is confirmed: they may use emergency access.")
    return redirect("accounts:member", member.pk)


@role_required(Role.ADMIN)
@require_POST
def member_role_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    form = RoleChangeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a role and whether to grant or revoke it.")
        return redirect("accounts:member", member.pk)
    grant = form.cleaned_data["change"] == "grant"
    label = Role(form.cleaned_data["role"]).label.lower()
    try:
        services.role_change(
            actor=request.user, context=context_of(request), user=member, role=form.cleaned_data["role"], grant=grant
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{member} is {'now' if grant else 'no longer'} a {label}.")
    return redirect("accounts:member", member.pk)


@role_required(Role.ADMIN)
@require_POST
def member_deactivate_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    if not confirmed(request):
        return ask(
            request,
            title=f"Deactivate {member}?",
            consequences=[
                f"stop {member} signing in, from now on;",
                "end every session they are signed in to, on every device, and close their video calls;",
                "keep their account, records and audit trail as they are.",
            ],
            button="Deactivate",
            back=reverse("accounts:member", args=[member.pk]),
            undo="You can reactivate the account later from this member's page.",
        )
    try:
        services.user_deactivate(actor=request.user, context=context_of(request), user=member)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{member} can no longer sign in; their sessions have ended.")
    return redirect("accounts:member", member.pk)


@role_required(Role.ADMIN)
@require_POST
def member_reactivate_view(request: AuthedRequest, user_id: int) -> HttpResponse:
    member = member_get_for_admin(admin=request.user, user_id=user_id)
    try:
        services.user_reactivate(actor=request.user, context=context_of(request), user=member)
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{member} can sign in again.")
    return redirect("accounts:member", member.pk)


RECOVERY_ACTIONS = {
    "approve": lambda a, r, d, q: recovery.recovery_approve(
        admin=a, recovery_id=r, identity_check=d.get("identity_check"), context=context_of(q)
    ),
    "confirm": lambda a, r, d, q: recovery.recovery_confirm(admin=a, recovery_id=r, context=context_of(q)),
    "withdraw": lambda a, r, d, q: recovery.recovery_withdraw(admin=a, recovery_id=r, context=context_of(q)),
}


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def recoveries_view(request: AuthedRequest) -> HttpResponse:
    """Account recoveries: two admins, neither the person, then a delay the person can cancel."""
    if request.method == "POST":
        act = RECOVERY_ACTIONS.get(request.POST.get("action", ""))
        try:
            if act is None:
                raise ServiceError("Choose what to do.", field="action")
            act(request.user, request.POST.get("recovery"), request.POST, request)
        except Denial:
            raise
        except ServiceError as error:
            messages.error(request, error_text(request, error))
        else:
            messages.success(request, "Saved.")
        return redirect("accounts:recoveries")
    recovery.recoveries_complete()
    found = recovery.recoveries_for_admin(admin=request.user)[:100]
    return render(request, "accounts/recoveries.html", {"recoveries": found})
