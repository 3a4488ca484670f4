from django.apps import AppConfig


class VideoSessionsConfig(AppConfig):
    # The label "sessions" belongs to django.contrib.sessions.
    name = "sessions"
    label = "video"
    verbose_name = "Video sessions"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from records.copy import CopySection
        from records.selectors import Need
        from sessions import receivers  # noqa: F401 - connects the signal receivers
        from sessions.caseload import clients_missing_consent, clients_needing_a_note, clients_seen_this_week
        from sessions.selectors import (
            appointments_for_export,
            appointments_upcoming_for,
            client_seen_jointly,
            join_address_now,
            read_appointment,
            sessions_held,
        )
        from sessions.services import requests, waitlist  # noqa: F401 - their receiver and tasks
        from teletherapy import hooks

        hooks.upcoming_sessions.register(appointments_upcoming_for)
        hooks.joint_work.register(client_seen_jointly)
        hooks.join_now.register(join_address_now)
        hooks.copy_sections.register(
            CopySection(
                "appointments", "Sessions", Need.SUMMARY, appointments_for_export, read_appointment, "No sessions.", 70
            )
        )
        hooks.documented_sessions.register(sessions_held)
        hooks.chart_filters.register(("week", "Seen this week", clients_seen_this_week))
        hooks.chart_filters.register(("note", "Needs a note", clients_needing_a_note))
        hooks.chart_filters.register(("consent", "Consents missing", clients_missing_consent))
