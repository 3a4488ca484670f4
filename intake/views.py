"""Intake pages: the practice's form builder, sending a packet, filling it in step by step, signing
it, and reading what was filed. Each page is a thin adapter over intake.selectors' doors and
intake.services."""

from __future__ import annotations

from typing import Any

from django.contrib import messages as flash
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Role
from accounts.rules import role_required
from accounts.types import AuthedRequest
from audit.models import Action
from consent.markdown import render_markdown
from consent.models import ConsentDocument
from consent.selectors import current_version, next_session_start, required_kinds, signature_in_force
from intake import schema, services
from intake.models import IntakeForm, ItemKind, PacketItem
from intake.selectors import (
    PacketReach,
    answers_of,
    consent_signed_before,
    fields_of,
    form_version_get_for_admin,
    forms_of_practice,
    item_done,
    item_get_for_user,
    item_title,
    items_of,
    packet_get_for_user,
    packets_of_chart,
    progress,
    published_version,
)
from records import scoring
from records.reads import record_read
from records.selectors import Access, Need, chart_get_for_user
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError, error_text

FILLERS = (Role.CLIENT, Role.GUARDIAN)
TEAM = frozenset({PacketReach.TEAM})
FILLER = frozenset({PacketReach.FILLER})


# The practice's forms --------------------------------------------------------------------------


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def forms_view(request: AuthedRequest) -> HttpResponse:
    services.forms_ready(practice=request.user.practice)
    if request.method == "POST":
        try:
            draft = services.form_create(
                actor=request.user, title=request.POST.get("title"), context=context_of(request)
            )
        except ServiceError as error:
            flash.error(request, error_text(request, error))
            return redirect("intake:forms")
        return redirect("intake:form_version", draft.pk)
    rows = []
    for form in forms_of_practice(practice_id=request.user.practice_id):
        versions = sorted(form.versions.all(), key=lambda v: -v.number)
        rows.append(
            {
                "form": form,
                "published": next((v for v in versions if v.status == "published"), None),
                "draft": next((v for v in versions if v.status == "draft"), None),
            }
        )
    return render(request, "intake/forms.html", {"rows": rows})


@role_required(Role.ADMIN)
@require_http_methods(["GET", "POST"])
def form_version_view(request: AuthedRequest, form_version_id: str) -> HttpResponse:
    version = form_version_get_for_admin(user=request.user, form_version_id=form_version_id)
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "")
        key = request.POST.get("key", "")
        try:
            if action == "add":
                version = services.form_field_add(actor=request.user, version=version, data=request.POST.dict(),
                                                  context=context_of(request))  # fmt: skip
                flash.success(request, "Field added.")
            elif action == "remove":
                version = services.form_field_remove(
                    actor=request.user, version=version, key=key, context=context_of(request)
                )
                flash.success(request, "Field removed.")
            elif action in ("up", "down"):
                version = services.form_field_move(
                    actor=request.user, version=version, key=key, up=action == "up", context=context_of(request)
                )
            elif action == "publish":
                version = services.form_publish(actor=request.user, version=version, context=context_of(request))
                flash.success(request, f"Version {version.number} is published. Packets sent from now on use it.")
            elif action == "draft":
                version = services.form_draft_new(actor=request.user, form=version.form, context=context_of(request))
            else:
                raise ServiceError("Choose what to do.", field="action")
        except ServiceError as error:
            flash.error(request, error_text(request, error))
            status = 400
        else:
            return redirect("intake:form_version", version.pk)
    context = {
        "version": version,
        "fields": schema.fields_of(version.fields),
        "draft": version.status == "draft",
        "kinds": schema.KINDS.items(),
        "targets": schema.CHART_TARGETS.items(),
        "others": version.form.versions.exclude(pk=version.pk).order_by("-number"),
        "posted": request.POST if status == 400 else {},
    }
    return render(request, "intake/form_version.html", context, status=status)


# Sending ---------------------------------------------------------------------------------------


@role_required(Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def send_view(request: AuthedRequest, chart_id: str) -> HttpResponse:
    chart, access = chart_get_for_user(user=request.user, chart_id=chart_id, need=Need.CLINICAL)
    if access is not Access.CARE_TEAM:
        raise NotVisible("records.clientchart", chart_id)
    services.forms_ready(practice=request.user.practice)
    forms = [(f, v) for f in IntakeForm.objects.filter(practice_id=chart.practice_id) if (v := published_version(f))]
    documents = [
        d
        for d in ConsentDocument.objects.filter(practice_id=chart.practice_id)
        if current_version(practice_id=chart.practice_id, kind=d.kind) is not None
    ]
    status = 200
    if request.method == "POST":
        try:
            packet = services.packet_send(
                actor=request.user,
                chart=chart,
                access=access,
                form_ids=request.POST.getlist("forms"),
                consent_kinds=request.POST.getlist("consents"),
                questionnaires=request.POST.getlist("questionnaires"),
                context=context_of(request),
            )
        except ServiceError as error:
            flash.error(request, error_text(request, error))
            status = 400
        else:
            flash.success(request, f"Intake packet sent to {chart.client.full_name}. They have an e-mail with a link.")
            return redirect("intake:packet", packet.pk)
    chosen = request.POST if request.method == "POST" else None
    # Ticked at first: the consents the client still needs in force to join a session.
    needed = {
        kind
        for kind in required_kinds(client=chart.client, joint=False)
        if signature_in_force(client=chart.client, kind=kind) is None
    }
    context = {
        "chart": chart,
        "forms": [
            {"form": f, "version": v, "on": chosen is None or str(f.pk) in chosen.getlist("forms")} for f, v in forms
        ],
        "documents": [
            {"document": d, "on": (d.kind in needed) if chosen is None else d.kind in chosen.getlist("consents")}
            for d in documents
        ],
        "questionnaires": [
            {"kind": k, "label": label, "on": chosen is None or k in chosen.getlist("questionnaires")}
            for k, label in (("phq9", "PHQ-9 (depression)"), ("gad7", "GAD-7 (anxiety)"))
            if k in scoring.ITEMS
        ],
        "next_session": next_session_start(client=chart.client),
    }
    return render(request, "intake/send.html", context, status=status)


# A packet --------------------------------------------------------------------------------------


def _answers_here(item: PacketItem, user: Any) -> bool:
    """A questionnaire is the client's own to answer; everything else is the filler's."""
    return item.kind != ItemKind.QUESTIONNAIRE or user.pk == item.packet.chart.client_id


@role_required(Role.CLIENT, Role.GUARDIAN, Role.THERAPIST)
@require_http_methods(["GET"])
def packet_view(request: AuthedRequest, packet_id: str) -> HttpResponse:
    packet, reach, _access = packet_get_for_user(user=request.user, packet_id=packet_id)
    rows = [
        {
            "item": item,
            "title": item_title(item),
            "done": item_done(item),
            "draft": item.saved_at is not None and not item_done(item),
            "signed_before": consent_signed_before(item),
            "answers_here": _answers_here(item, request.user),
        }
        for item in items_of(packet)
    ]
    done, total = progress(packet)
    context = {
        "packet": packet,
        "rows": rows,
        "filler": reach is PacketReach.FILLER,
        "team": reach is PacketReach.TEAM,
        "done": done,
        "total": total,
        "ready": all(r["done"] or not r["answers_here"] for r in rows),
        "has_consents": any(item.kind == ItemKind.CONSENT for item in items_of(packet)),
        "next_session": next_session_start(client=packet.chart.client),
        "for_self": request.user.pk == packet.chart.client_id,
    }
    return render(request, "intake/packet.html", context)


@role_required(*FILLERS)
@require_POST
def sign_view(request: AuthedRequest, packet_id: str) -> HttpResponse:
    packet, reach, _access = packet_get_for_user(user=request.user, packet_id=packet_id, need=FILLER)
    try:
        services.packet_sign(
            actor=request.user,
            packet=packet,
            reach=reach,
            typed_name=request.POST.get("typed_name"),
            context=context_of(request),
        )
    except ServiceError as error:
        flash.error(request, error_text(request, error))
        return redirect(reverse("intake:packet", args=[packet.pk]) + "#sign-h")
    flash.success(request, "Signed and sent. Your answers are filed in your record; your therapist can read them now.")
    return redirect("intake:packet", packet.pk)


@role_required(Role.THERAPIST)
@require_POST
def withdraw_view(request: AuthedRequest, packet_id: str) -> HttpResponse:
    packet, reach, _access = packet_get_for_user(user=request.user, packet_id=packet_id, need=TEAM)
    try:
        services.packet_withdraw(actor=request.user, packet=packet, reach=reach, context=context_of(request))
    except ServiceError as error:
        flash.error(request, error_text(request, error))
    else:
        flash.success(request, "Packet withdrawn. Nothing more can be filled in; what was saved stays.")
    return redirect("intake:packet", packet.pk)


# One step --------------------------------------------------------------------------------------


def _next_step(item: PacketItem, user: Any) -> str:
    for following in items_of(item.packet):
        if following.position > item.position and not item_done(following) and _answers_here(following, user):
            return reverse("intake:item", args=[following.pk])
    return reverse("intake:packet", args=[item.packet_id]) + "#steps"


@role_required(Role.CLIENT, Role.GUARDIAN, Role.THERAPIST)
@require_http_methods(["GET", "POST"])
def item_view(request: AuthedRequest, packet_item_id: str) -> HttpResponse:
    item, reach, access = item_get_for_user(user=request.user, packet_item_id=packet_item_id)
    packet = item.packet
    if item.kind == ItemKind.QUESTIONNAIRE:
        if reach is PacketReach.FILLER and request.user.pk == packet.chart.client_id and item.assessment:
            return redirect(reverse("records:assessment", args=[item.assessment_id]) + f"?packet={packet.pk}")
        raise NotVisible("intake.packetitem", packet_item_id)
    fields = fields_of(item)
    given = answers_of(item)
    status, error_field = 200, ""
    if request.method == "POST":
        if reach is not PacketReach.FILLER:
            raise NotVisible("intake.packetitem", packet_item_id)
        finish = "draft" not in request.POST
        try:
            item = services.item_save(
                actor=request.user,
                item=item,
                reach=reach,
                data=request.POST,
                finish=finish,
                context=context_of(request),
            )
        except ServiceError as error:
            flash.error(request, error_text(request, error))
            status, error_field = error.status, error.field or ""
            given = {f.key: request.POST.get(f.key, "") for f in fields}
        else:
            if not finish:
                flash.success(request, "Draft saved. You can come back to it at any time.")
                return redirect("intake:packet", packet.pk)
            return redirect(_next_step(item, request.user))
    elif request.user.pk != packet.chart.client_id:
        # Anyone but the client reading the client's answers (the care team, emergency access, a
        # guardian) is audited, like a note.
        record_read(actor=request.user, context=context_of(request), action=Action.INTAKE_VIEW, target=item,
                    chart=packet.chart, access=access)  # fmt: skip
    consent_text = None
    if item.kind == ItemKind.CONSENT and item.consent_document:
        version = current_version(practice_id=packet.practice_id, kind=item.consent_document.kind)
        consent_text = render_markdown(version.body) if version else None
    context = {
        "item": item,
        "packet": packet,
        "title": item_title(item),
        "filler": reach is PacketReach.FILLER and packet.outstanding,
        "team": reach is PacketReach.TEAM,
        "fields": [
            {
                "field": f,
                "value": given.get(f.key, ""),
                "shown": schema.shown(f, given.get(f.key, "")),
                "error": error_field == f.key,
                "scale": list(range(f.low, f.high + 1)) if f.kind == "scale" else [],
            }
            for f in fields
        ],
        "consent_text": consent_text,
        "details": schema.chart_details(fields, given) if item.filed_at else {},
        "chart": packet.chart,
        "position": item.position,
        "total": len(items_of(packet)),
    }
    return render(request, "intake/item.html", context, status=status)


@role_required(Role.THERAPIST)
@require_POST
def confirm_view(request: AuthedRequest, packet_item_id: str) -> HttpResponse:
    item, _reach, access = item_get_for_user(user=request.user, packet_item_id=packet_item_id, need=TEAM)
    try:
        details = services.item_confirm_details(
            actor=request.user, item=item, access=access, context=context_of(request)
        )
    except ServiceError as error:
        flash.error(request, error_text(request, error))
        return redirect("intake:item", item.pk)
    flash.success(request, f"The chart's {', '.join(d.replace('_', ' ') for d in sorted(details))} updated.")
    return redirect("records:chart", item.packet.chart_id)


# Panels on the chart and the portal (registered in IntakeConfig.ready) --------------------------


def chart_panel(*, user: Any, chart: Any, access: Access) -> dict[str, Any] | None:
    if access not in (Access.CARE_TEAM, Access.EMERGENCY):
        return None
    packets = []
    for packet in packets_of_chart(chart)[:10]:
        done, total = progress(packet)
        filed = [i for i in items_of(packet) if i.filed_at and i.kind == ItemKind.FORM]
        packets.append({"packet": packet, "done": done, "total": total, "filed": filed})
    return {"template": "intake/_chart_panel.html", "packets": packets, "care_team": access is Access.CARE_TEAM,
            "chart": chart}  # fmt: skip


def portal_panel(*, user: Any, chart: Any, access: Access) -> dict[str, Any] | None:
    if access not in (Access.CLIENT, Access.GUARDIAN):
        return None
    packets = []
    for packet in packets_of_chart(chart).filter(withdrawn_at=None)[:10]:
        done, total = progress(packet)
        packets.append({"packet": packet, "done": done, "total": total})
    return {"template": "intake/_portal_panel.html", "packets": packets} if packets else None
