"""JSON API for consent, under /api/v1/consent/."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role, User
from accounts.permissions import roles_permission
from consent import reads, services
from consent.markdown import render_markdown
from consent.models import ConsentDocument, ConsentKind, ConsentSignature, ConsentVersion
from consent.selectors import documents_of, signature_get_for_user
from teletherapy.context import context_of
from teletherapy.pagination import paginate


class VersionSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="document.kind", read_only=True)
    title = serializers.CharField(source="document.title", read_only=True)
    html = serializers.SerializerMethodField()

    class Meta:
        model = ConsentVersion
        fields = [
            "id",
            "kind",
            "title",
            "number",
            "status",
            "body",
            "body_sha256",
            "html",
            "requires_reconsent",
            "published_at",
        ]
        read_only_fields = fields

    def get_html(self, version: ConsentVersion) -> str:
        return str(render_markdown(version.body))


class DocumentSerializer(serializers.ModelSerializer):
    versions = VersionSerializer(many=True, read_only=True)

    class Meta:
        model = ConsentDocument
        fields = ["id", "kind", "title", "versions"]


class SignatureSerializer(serializers.ModelSerializer):
    withdrawn_at = serializers.SerializerMethodField()
    # Null for a reader who sees the status only (an admin): the schema says so.
    typed_name = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = ConsentSignature
        fields = [
            "id",
            "kind",
            "version",
            "version_number",
            "version_sha256",
            "signer",
            "on_behalf_of",
            "typed_name",
            "signed_at",
            "withdrawn_at",
        ]
        read_only_fields = fields

    def get_withdrawn_at(self, signature: ConsentSignature) -> str | None:
        withdrawal = getattr(signature, "withdrawal", None)
        return withdrawal.withdrawn_at.isoformat() if withdrawal else None


class SignInput(serializers.Serializer):
    version = serializers.UUIDField()
    on_behalf_of = serializers.IntegerField(required=False)
    typed_name = serializers.CharField(max_length=150)
    confirm_read = serializers.BooleanField()


class DraftInput(serializers.Serializer):
    body = serializers.CharField(max_length=services.MAX_BODY_CHARS, trim_whitespace=False)


class PublishInput(serializers.Serializer):
    requires_reconsent = serializers.BooleanField()


class WithdrawInput(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")


class RequestInput(serializers.Serializer):
    client = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=ConsentKind.choices)


class AgreementInput(serializers.Serializer):
    client = serializers.IntegerField()
    text = serializers.CharField(max_length=services.MAX_AGREEMENT_CHARS)


def _version(request: Request, version_id: Any) -> ConsentVersion:
    user = VerifiedAPIView.actor(request)
    try:
        version = (
            ConsentVersion.objects.select_related("document")
            .filter(pk=version_id, document__practice_id=user.practice_id)
            .first()
        )
    except (ValueError, DjangoValidationError):
        version = None
    if version is None:
        raise NotFound("No such document version.")
    return version


def _practice_user(request: Request, user_id: int) -> User:
    user = User.objects.filter(pk=user_id, practice_id=VerifiedAPIView.actor(request).practice_id).first()
    if user is None:
        raise NotFound("No such person.")
    return user


class DocumentListView(VerifiedAPIView):
    @extend_schema(responses=DocumentSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        page = paginate(request, documents_of(practice=user.practice), key="kind")
        data = DocumentSerializer(page.items, many=True).data
        if not user.has_role(Role.ADMIN):
            for document in data:  # drafts are for admins only
                document["versions"] = [v for v in document["versions"] if v["status"] != "draft"]
        return page.response(data)


class DraftCreateView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.ADMIN)]

    @extend_schema(request=None, responses={201: VersionSerializer})
    def post(self, request: Request, document_id: int) -> Response:
        document = ConsentDocument.objects.filter(pk=document_id, practice_id=self.actor(request).practice_id).first()
        if document is None:
            raise NotFound("No such document.")
        draft = services.consent_draft_create(
            actor=self.actor(request), document=document, context=context_of(self.django_request(request))
        )
        return Response(VersionSerializer(draft).data, status=status.HTTP_201_CREATED)


class VersionView(VerifiedAPIView):
    @extend_schema(responses=VersionSerializer)
    def get(self, request: Request, version_id: uuid.UUID) -> Response:
        version = _version(request, version_id)
        if version.status == "draft" and not self.actor(request).has_role(Role.ADMIN):
            raise NotFound("No such document version.")
        return Response(VersionSerializer(version).data)

    @extend_schema(request=DraftInput, responses=VersionSerializer)
    def patch(self, request: Request, version_id: uuid.UUID) -> Response:
        return self._edit(request, version_id)

    @extend_schema(request=DraftInput, responses=VersionSerializer)
    def put(self, request: Request, version_id: uuid.UUID) -> Response:
        return self._edit(request, version_id)

    def _edit(self, request: Request, version_id: uuid.UUID) -> Response:
        if not self.actor(request).has_role(Role.ADMIN):
            raise PermissionDenied("Only practice admins edit consent documents.")
        version = _version(request, version_id)
        data = DraftInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.consent_draft_update(
            actor=self.actor(request),
            version=version,
            body=data.validated_data["body"],
            context=context_of(self.django_request(request)),
        )
        return Response(VersionSerializer(version).data)


class PublishView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.ADMIN)]

    @extend_schema(request=PublishInput, responses=VersionSerializer)
    def post(self, request: Request, version_id: uuid.UUID) -> Response:
        version = _version(request, version_id)
        data = PublishInput(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.consent_publish(
            actor=self.actor(request),
            version=version,
            requires_reconsent=data.validated_data["requires_reconsent"],
            context=context_of(self.django_request(request)),
        )
        return Response(VersionSerializer(version).data)


class SignatureListView(VerifiedAPIView):
    @extend_schema(responses=SignatureSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        client_id = request.query_params.get("client")
        if client_id is not None and not client_id.isdigit():
            raise ValidationError({"client": ["Give a client id."]})
        client = reads.client_in_practice(user=user, client_id=client_id) if client_id else None
        signatures, _access = reads.signatures_visible(user=user, client=client)
        page = paginate(request, signatures, key="-signed_at")
        reads.signatures_listed(
            user=user, context=context_of(self.django_request(request)), client=client, shown=page.items
        )
        status_only = reads.status_only_for(user=user)
        data = SignatureSerializer(page.items, many=True).data
        if status_only is not None:
            for row, signature in zip(data, page.items, strict=True):
                if signature.on_behalf_of_id in status_only:
                    row["typed_name"] = None  # an admin sees status only
        return page.response(data)

    @extend_schema(request=SignInput, responses={201: SignatureSerializer, 200: SignatureSerializer})
    def post(self, request: Request) -> Response:
        data = SignInput(data=request.data)
        data.is_valid(raise_exception=True)
        signer = self.actor(request)
        version = _version(request, data.validated_data["version"])
        on_behalf_of = _practice_user(request, data.validated_data.get("on_behalf_of") or signer.pk)
        signature, created = services.consent_sign(
            signer=signer,
            version=version,
            on_behalf_of=on_behalf_of,
            typed_name=data.validated_data["typed_name"],
            confirmed_read=data.validated_data["confirm_read"],
            context=context_of(self.django_request(request)),
        )
        return Response(
            SignatureSerializer(signature).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )


class SignatureDetailView(VerifiedAPIView):
    @extend_schema(responses=SignatureSerializer)
    def get(self, request: Request, signature_id: uuid.UUID) -> Response:
        signature, _access = reads.signature_read(
            user=self.actor(request), signature_id=signature_id, context=context_of(self.django_request(request))
        )
        data = SignatureSerializer(signature).data
        data["text"] = signature.version.body
        return Response(data)


class WithdrawView(VerifiedAPIView):
    @extend_schema(request=WithdrawInput, responses=SignatureSerializer)
    def post(self, request: Request, signature_id: uuid.UUID) -> Response:
        signature, _access = signature_get_for_user(user=self.actor(request), signature_id=signature_id)
        data = WithdrawInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.consent_withdraw(
            actor=self.actor(request),
            signature=signature,
            reason=data.validated_data["reason"],
            context=context_of(self.django_request(request)),
        )
        signature.refresh_from_db()
        return Response(SignatureSerializer(ConsentSignature.objects.get(pk=signature.pk)).data)


class RequestCreateView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.THERAPIST, Role.ADMIN)]

    @extend_schema(request=RequestInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = RequestInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = _practice_user(request, data.validated_data["client"])
        row = services.consent_request(
            actor=self.actor(request),
            client=client,
            kind=data.validated_data["kind"],
            context=context_of(self.django_request(request)),
        )
        return Response(
            {"id": row.pk, "client": client.pk, "kind": data.validated_data["kind"]}, status=status.HTTP_201_CREATED
        )


class AgreementView(VerifiedAPIView):
    permission_classes = [roles_permission(Role.THERAPIST)]

    @extend_schema(request=AgreementInput, responses={201: dict})
    def post(self, request: Request) -> Response:
        data = AgreementInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = _practice_user(request, data.validated_data["client"])
        agreement = services.participant_agreement_record(
            actor=self.actor(request),
            client=client,
            text=data.validated_data["text"],
            context=context_of(self.django_request(request)),
        )
        return Response(
            {"id": str(agreement.pk), "client": client.pk, "recorded_at": agreement.recorded_at},
            status=status.HTTP_201_CREATED,
        )
