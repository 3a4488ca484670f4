"""Consent pages for clients and guardians, therapists and practice admins."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.models import Role, User
from accounts.rules import mfa_required, role_required
from accounts.selectors import guardian_acts_for
from accounts.types import AuthedRequest
from consent import reads, services
from consent.forms import AgreementForm, DraftForm, PublishForm, RequestForm, SignForm, WithdrawForm
from consent.markdown import render_markdown
from consent.models import ConsentDocument, ConsentKind, ConsentVersion, VersionStatus
from consent.selectors import (
    AFTER_CONSENT,
    ConsentAccess,
    agreement_access_check,
    consent_access,
    consent_todo_for,
    current_version,
    documents_of,
    joint_work_for,
    may_sign_for,
    people_signed_for_by,
    required_kinds,
    signature_get_for_user,
    signature_in_force,
    signatures_visible_to,
    signing_needed,
)
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text
from teletherapy.pagination import paginate


def after_signing(request: AuthedRequest) -> HttpResponse:
    """Where a signature leads: the next form the session that sent the person here still needs,
    then back to that session's Join; else the next form any session needs; else their forms."""
    back = request.session.get(AFTER_CONSENT) or {}
    todo = [
        (str(getattr(appointment, "pk", "")), sign_url(item.version, item.client))
        for appointment, items in consent_todo_for(user=request.user)
        for item in items
        if item.version is not None
    ]
    for appointment_id, _url in todo:
        if appointment_id == back.get("appointment"):
            return redirect("consent:sign_needed")
    if back:
        del request.session[AFTER_CONSENT]
        return redirect(back["url"])
    return redirect("consent:sign_needed" if todo else "consent:mine")


def sign_url(version: ConsentVersion, client: User) -> str:
    return f"{reverse('consent:sign', args=[version.pk])}?for={client.pk}"


def _not_found(request: AuthedRequest, target_type: str, target_id: object) -> NotVisible:
    return NotVisible(target_type, target_id)


def _version_for_practice(request: AuthedRequest, version_id: str) -> ConsentVersion:
    try:
        version = (
            ConsentVersion.objects.select_related("document")
            .filter(pk=version_id, document__practice_id=request.user.practice_id)
            .first()
        )
    except (ValueError, ValidationError):
        version = None
    if version is None:
        raise _not_found(request, "consent.consentversion", version_id)
    return version


def _client_in_practice(request: AuthedRequest, client_id: int) -> User:
    return reads.client_in_practice(user=request.user, client_id=client_id)


# Clients and guardians ---------------------------------------------------------------------


def _status_rows(user: User) -> list[dict[str, Any]]:
    """Each person this user signs for, with each document in one of three states: in force, needed
    (for sessions: signable by this user, or waiting for whoever signs it), or optional."""
    rows = []
    for person in people_signed_for_by(user):
        needed = required_kinds(client=person, joint=joint_work_for(client=person))
        # The privacy notice is there to read; a couples agreement means nothing to someone seen
        # alone, and shows only once it is needed or was signed.
        optional = [ConsentKind.PRIVACY]
        items = []
        for kind in [*needed, *optional]:
            version = current_version(practice_id=person.practice_id, kind=kind)
            if version is None:
                continue
            in_force = signature_in_force(client=person, kind=kind)
            last = (
                signatures_visible_to(user=user)
                .filter(on_behalf_of=person, kind=kind)
                .select_related("withdrawal")
                .first()
            )
            can_sign = may_sign_for(signer=user, client=person, kind=kind)
            if kind in optional and not can_sign and in_force is None:
                continue  # optional, and not this user's to sign: nothing to say about it
            if kind == ConsentKind.COUPLES_AGREEMENT and kind not in needed and in_force is None:
                continue
            items.append(
                {
                    "kind": kind,
                    "version": version,
                    "in_force": in_force,
                    "last": last,
                    "withdrawn": last is not None and hasattr(last, "withdrawal"),
                    "needed": kind in needed,
                    "can_sign": can_sign,
                    "signed_by": _who_signs(user=user, person=person, kind=kind),
                }
            )
        rows.append({"person": person, "items": items})
    return rows


def _who_signs(*, user: User, person: User, kind: str) -> str:
    """Who gives a consent this user cannot give themself, in words for the status column."""
    if kind in (ConsentKind.GUARDIAN, ConsentKind.TREATMENT) and person.pk == user.pk:
        return "your guardian"
    return person.full_name if person.pk != user.pk else "you"


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_GET
def mine_view(request: AuthedRequest) -> HttpResponse:
    needed = signing_needed(user=request.user)
    context = {
        "rows": _status_rows(request.user),
        "todo": consent_todo_for(user=request.user),
        "needed_count": sum(len(versions) for _person, versions in needed),
    }
    return render(request, "consent/mine.html", context)


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def sign_needed_view(request: AuthedRequest) -> HttpResponse:
    """Every consent this person must still sign (for themself, and for the minors they are a
    guardian of), read one after another on one page and signed with one typed name."""
    needed = signing_needed(user=request.user)
    if not needed:
        return after_signing(request) if request.session.get(AFTER_CONSENT) else redirect("consent:mine")
    items = [(version, person) for person, versions in needed for version in versions]
    form = SignForm(request.POST or None)
    form.fields["confirm_read"].label = (
        "I have read these documents and I understand them." if len(items) > 1 else form.fields["confirm_read"].label
    )
    status = 200
    if request.method == "POST" and form.is_valid():
        # What was read is what is signed: the page names its versions, and a version published
        # meanwhile sends the person back to read it.
        shown = set(request.POST.getlist("version"))
        if shown != {str(version.pk) for version, _person in items}:
            messages.warning(request, "A document changed while you were reading. Please read it again.")
            return redirect("consent:sign_needed")
        try:
            services.consent_sign_together(
                signer=request.user,
                items=items,
                typed_name=form.cleaned_data["typed_name"],
                confirmed_read=form.cleaned_data["confirm_read"],
                context=context_of(request),
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
            status = 400
        else:
            if not request.session.get(AFTER_CONSENT):  # back to Join, which says what comes next
                messages.success(
                    request, "Signed, thank you." if len(items) > 1 else f"Signed: {items[0][0].document.title}."
                )
            return after_signing(request)
    elif request.method == "POST":
        status = 400
    documents = [
        {
            "version": version,
            "person": person,
            "html": render_markdown(version.body, below=1),
            "titled": version.body.lstrip().startswith("# "),
        }
        for version, person in items
    ]
    context = {
        "documents": documents,
        "form": form,
        "for_others": sorted({p.full_name for _v, p in items if p.pk != request.user.pk}),
    }
    return render(request, "consent/sign_needed.html", context, status=status)


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def sign_view(request: AuthedRequest, version_id: str) -> HttpResponse:
    version = _version_for_practice(request, version_id)
    try:
        on_behalf_of = User.objects.get(
            pk=int(request.GET.get("for") or request.user.pk), practice_id=request.user.practice_id
        )
    except (User.DoesNotExist, ValueError):
        raise _not_found(request, "accounts.user", request.GET.get("for", "")) from None
    if on_behalf_of.pk != request.user.pk and not guardian_acts_for(guardian=request.user, client=on_behalf_of):
        # Only the client, or a guardian of this minor, is shown a form to sign for them.
        raise NotVisible("accounts.user", on_behalf_of.pk)
    form = SignForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            _signature, created = services.consent_sign(
                signer=request.user,
                version=version,
                on_behalf_of=on_behalf_of,
                typed_name=form.cleaned_data["typed_name"],
                confirmed_read=form.cleaned_data["confirm_read"],
                context=context_of(request),
            )
        except ServiceError as error:
            form.add_error(error.field if error.field in form.fields else None, error_text(request, error))
            status = 400
        else:
            messages.success(
                request, f"Signed: {version.document.title}." if created else "You had already signed this version."
            )
            return after_signing(request)
    elif request.method == "POST":
        status = 400
    context = {
        "version": version,
        "html": render_markdown(version.body),
        "on_behalf_of": on_behalf_of,
        "for_someone_else": on_behalf_of.pk != request.user.pk,
        "form": form,
        "todo": consent_todo_for(user=request.user),
    }
    return render(request, "consent/sign.html", context, status=status)


@mfa_required
@require_GET
def signature_view(request: AuthedRequest, signature_id: str) -> HttpResponse:
    """The exact text that was signed, with its hash; downloadable as a file."""
    signature, _access = reads.signature_read(
        user=request.user, signature_id=signature_id, context=context_of(request), download="download" in request.GET
    )
    if "download" in request.GET:
        text = (
            f"{signature.version.body}\n\n---\n"
            f"Document: {signature.document.title}, version {signature.version_number}\n"
            f"SHA-256 of the text above (before this footer): {signature.version_sha256}\n"
            f"Signed by: {signature.typed_name} (for {signature.on_behalf_of.full_name})\n"
            f"Signed at: {signature.signed_at.isoformat()} UTC\n"
        )
        response = HttpResponse(text, content_type="text/markdown; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="consent-{signature.kind}-v{signature.version_number}.md"'
        )
        return response
    context = {
        "signature": signature,
        "html": render_markdown(signature.version.body),
        "withdrawal": getattr(signature, "withdrawal", None),
        "can_withdraw": not hasattr(signature, "withdrawal")
        and (
            request.user.pk == signature.on_behalf_of_id
            or may_sign_for(signer=request.user, client=signature.on_behalf_of, kind=signature.kind)
        ),
    }
    return render(request, "consent/signature.html", context)


@role_required(Role.CLIENT, Role.GUARDIAN)
@require_http_methods(["GET", "POST"])
def withdraw_view(request: AuthedRequest, signature_id: str) -> HttpResponse:
    signature, _access = signature_get_for_user(user=request.user, signature_id=signature_id)
    form = WithdrawForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.consent_withdraw(
                actor=request.user, signature=signature, reason=form.cleaned_data["reason"], context=context_of(request)
            )
        except ServiceError as error:
            form.add_error(None, error_text(request, error))
            status = 400
        else:
            messages.success(request, f"You withdrew: {signature.document.title}. It no longer applies from now on.")
            return redirect("consent:mine")
    elif request.method == "POST":
        status = 400
    return render(request, "consent/withdraw.html", {"signature": signature, "form": form}, status=status)


# Therapists --------------------------------------------------------------------------------


@role_required(Role.THERAPIST)
@require_GET
def caseload_view(request: AuthedRequest) -> HttpResponse:
    page = paginate(request, reads.status_clients(user=request.user), key="full_name")
    rows = reads.status_rows_read(user=request.user, clients=page.items, context=context_of(request))
    kinds = [(k, ConsentKind(k).label) for k in reads.STATUS_KINDS]
    context = {"rows": rows, "page": page, "kinds": kinds, "request_form": RequestForm()}
    return render(request, "consent/caseload.html", context)


@role_required(Role.THERAPIST, Role.ADMIN)
@require_POST
def request_view(request: AuthedRequest, client_id: int) -> HttpResponse:
    client = _client_in_practice(request, client_id)
    if consent_access(user=request.user, client=client) not in (ConsentAccess.CARE_TEAM, ConsentAccess.STATUS):
        raise NotVisible("accounts.user", client.pk)
    form = RequestForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose which document to request.")
        return redirect("consent:caseload")
    try:
        services.consent_request(
            actor=request.user, client=client, kind=form.cleaned_data["kind"], context=context_of(request)
        )
    except ServiceError as error:
        messages.error(request, error_text(request, error))
    else:
        messages.success(request, f"{client.full_name} has been asked to review and sign it.")
    return redirect("consent:caseload")


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def agreements_view(request: AuthedRequest, client_id: int) -> HttpResponse:
    client = _client_in_practice(request, client_id)
    agreement_access_check(user=request.user, client=client)
    form = AgreementForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                services.participant_agreement_record(
                    actor=request.user, client=client, text=form.cleaned_data["text"], context=context_of(request)
                )
            except ServiceError as error:
                form.add_error("text", error_text(request, error))
                status = 400
            else:
                messages.success(request, "Agreement recorded.")
                return redirect("consent:agreements", client.pk)
        else:
            status = 400
    agreements = reads.agreements_read(user=request.user, client=client, context=context_of(request))
    return render(
        request, "consent/agreements.html", {"client": client, "agreements": agreements, "form": form}, status=status
    )


# Practice admins ---------------------------------------------------------------------------


@role_required(Role.ADMIN)
@require_GET
def documents_view(request: AuthedRequest) -> HttpResponse:
    documents = documents_of(practice=request.user.practice)
    return render(request, "consent/documents.html", {"documents": documents})


@role_required(Role.ADMIN)
@require_POST
def draft_new_view(request: AuthedRequest, document_id: int) -> HttpResponse:
    document = ConsentDocument.objects.filter(pk=document_id, practice_id=request.user.practice_id).first()
    if document is None:
        raise _not_found(request, "consent.consentdocument", document_id)
    draft = services.consent_draft_create(actor=request.user, document=document, context=context_of(request))
    return redirect("consent:version", draft.pk)


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def version_view(request: AuthedRequest, version_id: str) -> HttpResponse:
    version = _version_for_practice(request, version_id)
    draft_form = DraftForm(request.POST if "save" in request.POST else None, initial={"body": version.body})
    publish_form = PublishForm(request.POST if "publish" in request.POST else None)
    status = 200
    if request.method == "POST":
        try:
            if "save" in request.POST and draft_form.is_valid():
                services.consent_draft_update(
                    actor=request.user,
                    version=version,
                    body=draft_form.cleaned_data["body"],
                    context=context_of(request),
                )
                messages.success(request, "Draft saved.")
                return redirect("consent:version", version.pk)
            if "publish" in request.POST and publish_form.is_valid():
                services.consent_publish(
                    actor=request.user,
                    version=version,
                    requires_reconsent=publish_form.cleaned_data["requires_reconsent"],
                    context=context_of(request),
                )
                messages.success(request, f"Version {version.number} is now the current version.")
                return redirect("consent:documents")
            status = 400
        except ServiceError as error:
            (draft_form if "save" in request.POST else publish_form).add_error(None, error_text(request, error))
            status = 409 if error.code == "published_immutable" else 400
    signers = (
        version.signatures.select_related("signer", "on_behalf_of", "withdrawal")
        if version.status != VersionStatus.DRAFT
        else []
    )
    context = {
        "version": version,
        "html": render_markdown(version.body),
        "draft_form": draft_form,
        "publish_form": publish_form,
        "signers": signers,
    }
    return render(request, "consent/version.html", context, status=status)
