from django.apps import AppConfig


class VideoSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "video"
    verbose_name = "Video sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent.selectors import upcoming_source_register
        from records.documented import session_source_register
        from records.tasks import EXPORT_SECTIONS
        from sessions import receivers  # noqa: F401 - connects the signal receivers
        from sessions.selectors import appointments_for_export, appointments_upcoming_for, sessions_held

        upcoming_source_register(appointments_upcoming_for)
        EXPORT_SECTIONS["appointments"] = appointments_for_export
        session_source_register(sessions_held)
