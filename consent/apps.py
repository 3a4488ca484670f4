from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    label = "consent"
    verbose_name = "Informed consent"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent import receivers  # noqa: F401 - connects the signal receivers
