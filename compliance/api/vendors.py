"""The vendor and BAA register through the API (admins of the practice)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from compliance.models import Vendor
from compliance.services import vendors
from teletherapy.context import context_of
from teletherapy.errors import NotVisible, ServiceError
from teletherapy.parsers import BoundedJSONParser


class VendorSerializer(serializers.ModelSerializer):
    baa_state = serializers.SerializerMethodField()
    has_document = serializers.SerializerMethodField()

    class Meta:
        model = Vendor
        fields = [
            *("id", "name", "service", "data_touched", "data_location", "baa_signed_on", "baa_expires_on"),
            *("baa_state", "has_document", "baa_document_name", "baa_document_size", "baa_document_sha256"),
            *("from_configuration", "updated_at"),
        ]
        read_only_fields = fields

    def get_baa_state(self, vendor: Vendor) -> str:
        return vendor.baa_state()

    def get_has_document(self, vendor: Vendor) -> bool:
        return bool(vendor.baa_document_size)


class VendorInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    service = serializers.CharField(max_length=200)
    data_touched = serializers.CharField(max_length=300)
    data_location = serializers.CharField(max_length=200, required=False, allow_blank=True)
    baa_signed_on = serializers.DateField(required=False, allow_null=True)
    baa_expires_on = serializers.DateField(required=False, allow_null=True)


class DocumentInput(serializers.Serializer):
    document = serializers.FileField()


class _AdminView(VerifiedAPIView):
    parser_classes = [BoundedJSONParser]

    def admin(self, request: Request) -> object:
        user = self.actor(request)
        if not user.has_role(Role.ADMIN):
            raise NotVisible("review.vendor", "")
        return user


class VendorListView(_AdminView):
    @extend_schema(responses=VendorSerializer(many=True))
    def get(self, request: Request) -> Response:
        user = self.actor(request)
        self.admin(request)
        return Response(VendorSerializer(Vendor.objects.filter(practice_id=user.practice_id), many=True).data)

    @extend_schema(request=VendorInput, responses={201: VendorSerializer})
    def post(self, request: Request) -> Response:
        self.admin(request)
        data = VendorInput(data=request.data)
        data.is_valid(raise_exception=True)
        vendor = vendors.vendor_save(
            actor=self.actor(request),
            fields=dict(data.validated_data),
            context=context_of(self.django_request(request)),
        )
        return Response(VendorSerializer(vendor).data, status=status.HTTP_201_CREATED)


class VendorDetailView(_AdminView):
    @extend_schema(responses=VendorSerializer)
    def get(self, request: Request, vendor_id: str) -> Response:
        vendor = vendors.vendor_get_for_admin(user=self.actor(request), vendor_id=vendor_id)
        return Response(VendorSerializer(vendor).data)

    @extend_schema(request=VendorInput, responses=VendorSerializer)
    def put(self, request: Request, vendor_id: str) -> Response:
        vendor = vendors.vendor_get_for_admin(user=self.actor(request), vendor_id=vendor_id)
        data = VendorInput(data=request.data)
        data.is_valid(raise_exception=True)
        saved = vendors.vendor_save(
            actor=self.actor(request),
            fields=dict(data.validated_data),
            context=context_of(self.django_request(request)),
            vendor=vendor,
        )
        return Response(VendorSerializer(saved).data)


class VendorDocumentView(_AdminView):
    parser_classes = [MultiPartParser, BoundedJSONParser]  # a JSON body is refused as lacking the file

    @extend_schema(request={"multipart/form-data": DocumentInput}, responses=VendorSerializer)
    def put(self, request: Request, vendor_id: str) -> Response:
        vendor = vendors.vendor_get_for_admin(user=self.actor(request), vendor_id=vendor_id)
        data = DocumentInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["document"]
        if upload.size > vendors.MAX_DOCUMENT_BYTES:
            raise ServiceError("Keep the file under 10 MB.", field="document")
        saved = vendors.vendor_document_attach(
            actor=self.actor(request),
            vendor=vendor,
            name=upload.name,
            content=upload.read(),
            context=context_of(self.django_request(request)),
        )
        return Response(VendorSerializer(saved).data)
