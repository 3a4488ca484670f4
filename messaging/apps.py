from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    label = "messaging"
    verbose_name = "Secure messages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging.selectors import messages_for_export
        from records.tasks import EXPORT_SECTIONS

        EXPORT_SECTIONS["messages"] = messages_for_export
