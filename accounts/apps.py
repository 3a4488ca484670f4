from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = "Accounts and authentication"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from accounts.models import Practice
        from accounts.selectors import practice_ids
        from audit.append import lanes_open
        from audit.verify import practices_from

        def open_lanes(sender: type, instance: Practice, created: bool, raw: bool = False, **kwargs: object) -> None:
            if created and not raw:
                lanes_open(instance.pk)

        post_save.connect(open_lanes, sender=Practice, dispatch_uid="accounts.practice_lanes", weak=False)
        practices_from(practice_ids)
