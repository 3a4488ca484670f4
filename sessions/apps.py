from django.apps import AppConfig


class VideoSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "video"
    verbose_name = "Video sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from sessions import receivers  # noqa: F401 - connects the signal receivers
