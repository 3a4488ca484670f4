from django.apps import AppConfig


class HomeConfig(AppConfig):
    """What draws on every app: each person's home page, the demo practice and the table of access
    rules. It has no tables of its own."""

    name = "home"
    verbose_name = "Home"
