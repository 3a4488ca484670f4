import os

from celery import Celery, signals

from teletherapy import broker_files

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
broker_files.register()  # the embedded broker's transport (teletherapy/broker_files.py)

app = Celery("teletherapy")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_unsafe_roles(**kwargs: object) -> None:
    """A worker or beat in production must not run as a role that could rewrite the audit trail."""
    from teletherapy.dbroles import refuse_unsafe_roles_in_production

    refuse_unsafe_roles_in_production()


@signals.worker_init.connect
def _serve_metrics(**kwargs: object) -> None:
    """The worker's metrics (with the server's: backups, queues), where configured."""
    from django.conf import settings

    from teletherapy import metrics

    if settings.METRICS_ADDRESS:
        metrics.serve(settings.METRICS_ADDRESS)
