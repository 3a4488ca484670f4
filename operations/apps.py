from django.apps import AppConfig


class OperationsConfig(AppConfig):
    """Keeping the server whole: backups of both databases and the document store, made on a
    schedule and pruned by a retention policy, a restore drill that proves the newest one opens,
    and the metrics an operator scrapes. It reads the record only to check what it restored."""

    name = "operations"
    verbose_name = "Operations"
