from django.apps import AppConfig


class IntakeConfig(AppConfig):
    name = "intake"
    label = "intake"
    verbose_name = "Intake packets"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from intake import receivers  # noqa: F401 - connects the signal receivers
        from intake.selectors import intake_for_export
        from intake.views import chart_panel, portal_panel
        from records.panels import chart_panel_register, portal_panel_register
        from records.tasks import EXPORT_SECTIONS

        EXPORT_SECTIONS["intake_forms"] = intake_for_export
        chart_panel_register(chart_panel)
        portal_panel_register(portal_panel)
