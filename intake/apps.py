from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    label = "intake"
    verbose_name = "Intake packets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from intake import receivers  # noqa: F401 - connects the signal receivers
        from intake.selectors import intake_for_export, read_intake_form
        from intake.views import chart_panel, portal_panel
        from records.copy import CopySection
        from records.selectors import Need
        from teletherapy import hooks

        hooks.copy_sections.register(
            CopySection(
                "intake_forms",
                "Intake forms",
                Need.CLINICAL,
                intake_for_export,
                read_intake_form,
                "No intake forms.",
                30,
            )
        )
        hooks.chart_panels.register(chart_panel)
        hooks.portal_panels.register(portal_panel)
