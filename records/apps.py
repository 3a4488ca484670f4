from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    label = "records"
    verbose_name = "Clinical records"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from records import receivers  # noqa: F401 - connects the signal receivers
