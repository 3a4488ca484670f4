from django.apps import AppConfig


class TeletherapyConfig(AppConfig):
    name = "teletherapy"
    label = "teletherapy"
    verbose_name = "Teletherapy platform"
