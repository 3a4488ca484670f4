from django.urls import path

from billing.views import accounts, claims

app_name = "billing"

urlpatterns = [
    path("", accounts.billing_home_view, name="home"),
    path("clients/<uuid:chart_id>/", accounts.account_view, name="account"),
    path("clients/<uuid:chart_id>/payments/", accounts.payment_view, name="payment"),
    path("clients/<uuid:chart_id>/adjustments/", accounts.adjustment_view, name="adjustment"),
    path("clients/<uuid:chart_id>/invoices/", accounts.invoice_issue_view, name="invoice_issue"),
    path("clients/<uuid:chart_id>/statements/<str:month>/", accounts.statement_pdf_view, name="statement"),
    path("clients/<uuid:chart_id>/coverage/", claims.coverage_view, name="coverage"),
    path("clients/<uuid:chart_id>/claims/", claims.claim_make_view, name="claim_make"),
    path("invoices/<uuid:invoice_id>/", accounts.invoice_pdf_view, name="invoice"),
    path("claims/<uuid:claim_id>/status/", claims.claim_status_view, name="claim_status"),
    path("claims/<uuid:claim_id>/cms1500/", claims.claim_form_view, {"form": "cms1500"}, name="claim_cms1500"),
    path("claims/<uuid:claim_id>/837p/", claims.claim_form_view, {"form": "837p"}, name="claim_837p"),
]
