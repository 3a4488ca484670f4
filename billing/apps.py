from django.apps import AppConfig


class BillingConfig(AppConfig):
    """Money: payments, adjustments and write-offs, balances and their aging, invoices and monthly
    statements, insurance and claims (the CMS-1500 and the X12 837P). The charges are the chart's
    (records); this app reads them through the chart's billing door."""

    name = "billing"
    label = "billing"
    verbose_name = "Billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from billing.copy import account_for_copy, read_account_item
        from billing.services.ledger import paid_by_charge
        from billing.views.accounts import chart_panel, portal_panel
        from records.copy import CopySection
        from records.selectors import Need
        from teletherapy import hooks

        hooks.charge_payments.register(paid_by_charge)
        hooks.copy_sections.register(
            CopySection("account", "Payments and adjustments", Need.BILLING, account_for_copy, read_account_item,
                        "No payments or adjustments.", 61)
        )  # fmt: skip
        hooks.chart_panels.register(chart_panel)
        hooks.portal_panels.register(portal_panel)
