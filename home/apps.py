from django.apps import AppConfig


class HomeConfig(AppConfig):
    """What draws on every app: each person's home page, readiness (every part the process needs),
    the demo practice and the table of access rules. It has no tables of its own."""

    name = "home"
    verbose_name = "Home"

    def ready(self) -> None:
        from home.metrics import register

        register()
