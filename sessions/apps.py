from django.apps import AppConfig


class VideoSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "video"
    verbose_name = "Video sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from consent.selectors import upcoming_source_register
        from records.copy import CopySection, register
        from records.documented import session_source_register
        from records.selectors import Need
        from sessions import receivers  # noqa: F401 - connects the signal receivers
        from sessions.selectors import (
            appointments_for_export,
            appointments_upcoming_for,
            read_appointment,
            sessions_held,
        )

        upcoming_source_register(appointments_upcoming_for)
        register(
            CopySection(
                "appointments", "Sessions", Need.SUMMARY, appointments_for_export, read_appointment, "No sessions.", 70
            )
        )
        session_source_register(sessions_held)
