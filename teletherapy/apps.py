from django.apps import AppConfig


class TeletherapyConfig(AppConfig):
    name = "teletherapy"
    label = "teletherapy"
    verbose_name = "Teletherapy platform"

    def ready(self) -> None:
        from teletherapy import checks  # noqa: F401 - registers the deployment checks
