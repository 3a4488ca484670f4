"""A client's account over the API: its balance and story, payments and adjustments recorded by
those who keep it, and the practice's aging for its admins. The same doors and services as the
pages; every read of an account is audited once."""

from __future__ import annotations

import uuid

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.api import VerifiedAPIView
from accounts.models import Role
from audit.models import Action
from billing.models import Adjustment, AdjustmentKind, Payment, PaymentMethod
from billing.selectors import account_get_for_user
from billing.services.ledger import BUCKETS, activity, adjustment_make, aging, balance_of, payment_record
from billing.views.accounts import today_of
from records.api.base import valid_input
from records.models import ClientChart
from records.reads import record_read
from records.selectors import Access
from teletherapy.context import context_of
from teletherapy.errors import NotAllowed


class EntrySerializer(serializers.Serializer):
    on = serializers.DateField()
    kind = serializers.ChoiceField(choices=["charge", "payment", "adjustment", "write_off"])
    text = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Raises the balance when positive.")


class AccountSerializer(serializers.Serializer):
    chart = serializers.UUIDField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Owed when positive; credit below 0.")
    entries = EntrySerializer(many=True, help_text="The newest 100, newest first.")


class PaymentInput(serializers.Serializer):
    amount = serializers.CharField(max_length=20)
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    received_on = serializers.DateField()
    reference = serializers.CharField(
        max_length=80, required=False, allow_blank=True,
        help_text="A card processor's, a cheque's or an insurer's remittance reference.",
    )  # fmt: skip


class PaymentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Payment
        fields = ["id", "amount", "method", "received_on"]


class AdjustmentInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=AdjustmentKind.choices)
    amount = serializers.CharField(max_length=20, help_text="What it takes off; an adjustment below 0 raises it.")
    made_on = serializers.DateField()
    reason = serializers.CharField(max_length=200)


class AdjustmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Adjustment
        fields = ["id", "kind", "amount", "made_on"]


class AgedSerializer(serializers.Serializer):
    chart = serializers.UUIDField()
    client = serializers.CharField()
    buckets = serializers.ListField(child=serializers.DecimalField(max_digits=12, decimal_places=2))
    owed = serializers.DecimalField(max_digits=12, decimal_places=2)
    credit = serializers.DecimalField(max_digits=12, decimal_places=2)


class AgingSerializer(serializers.Serializer):
    on = serializers.DateField()
    buckets = serializers.ListField(child=serializers.CharField())
    accounts = AgedSerializer(many=True, help_text="Those owing most first, at most 100.")


class AccountView(VerifiedAPIView):
    @extend_schema(responses=AccountSerializer)
    def get(self, request: Request, chart_id: uuid.UUID) -> Response:
        actor = self.actor(request)
        chart, access = account_get_for_user(user=actor, chart_id=chart_id)
        record_read(actor=actor, context=context_of(self.django_request(request)), action=Action.BILLING_VIEW,
                    target=chart, chart=chart, access=access, account=True)  # fmt: skip
        entries = list(reversed(activity(charts=[chart.pk])[chart.pk]))[:100]
        data = {"chart": chart.pk, "currency": chart.practice.currency, "balance": balance_of(chart),
                "entries": entries}  # fmt: skip
        return Response(AccountSerializer(data).data)


class PaymentsView(VerifiedAPIView):
    @extend_schema(request=PaymentInput, responses={201: PaymentSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        actor = self.actor(request)
        chart, access = account_get_for_user(user=actor, chart_id=chart_id, write=True)
        made = payment_record(actor=actor, chart=chart, access=access, context=context_of(self.django_request(request)),
                              **valid_input(PaymentInput, request))  # fmt: skip
        return Response(PaymentSerializer(made).data, status=status.HTTP_201_CREATED)


class AdjustmentsView(VerifiedAPIView):
    @extend_schema(request=AdjustmentInput, responses={201: AdjustmentSerializer})
    def post(self, request: Request, chart_id: uuid.UUID) -> Response:
        actor = self.actor(request)
        chart, access = account_get_for_user(user=actor, chart_id=chart_id, write=True)
        made = adjustment_make(actor=actor, chart=chart, access=access,
                               context=context_of(self.django_request(request)),
                               **valid_input(AdjustmentInput, request))  # fmt: skip
        return Response(AdjustmentSerializer(made).data, status=status.HTTP_201_CREATED)


class AgingView(VerifiedAPIView):
    @extend_schema(responses=AgingSerializer)
    def get(self, request: Request) -> Response:
        actor = self.actor(request)
        if not actor.has_role(Role.ADMIN):
            raise NotAllowed("Only a practice admin sees every account.", target_type="billing.aging",
                             target_id=actor.practice_id)  # fmt: skip
        today = today_of(actor)
        rows = sorted((r for r in aging(practice_id=actor.practice_id, today=today) if r.owed or r.credit),
                      key=lambda r: (-r.owed, str(r.chart_id)))[:100]  # fmt: skip
        charts = {
            c.pk: c for c in ClientChart.objects.filter(pk__in=[r.chart_id for r in rows]).select_related("client")
        }
        context = context_of(self.django_request(request))
        for row in rows:
            record_read(actor=actor, context=context, action=Action.BILLING_VIEW, target=charts[row.chart_id],
                        chart=charts[row.chart_id], access=Access.ADMIN, aging=True)  # fmt: skip
        accounts = [{"chart": r.chart_id, "client": charts[r.chart_id].client.full_name, "buckets": r.buckets,
                     "owed": r.owed, "credit": r.credit} for r in rows]  # fmt: skip
        return Response(AgingSerializer({"on": today, "buckets": list(BUCKETS), "accounts": accounts}).data)
