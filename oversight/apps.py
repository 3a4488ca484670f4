from django.apps import AppConfig


class OversightConfig(AppConfig):
    """Who touched what: the admins' audit console and alerts, the anomaly rules, the periodic
    verification of the log, and a client's view of who opened their record. It has no tables of
    its own: it reads the audit log."""

    name = "oversight"
    verbose_name = "Oversight"
