from django.apps import AppConfig


class RecordsConfig(AppConfig):
    name = "records"
    label = "records"
    verbose_name = "Clinical records"
    default_auto_field = "django.db.models.BigAutoField"
