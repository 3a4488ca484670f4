from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "messaging"
    label = "messaging"
    verbose_name = "Secure messages"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from messaging.selectors import messages_for_export, read_message
        from records.copy import CopySection
        from records.selectors import Need
        from teletherapy.hooks import copy_sections

        copy_sections.register(
            CopySection("messages", "Messages", Need.CLINICAL, messages_for_export, read_message, "No messages.", 40)
        )
