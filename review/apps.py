from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """The top layer: pages that look across the others (audit console, alerts, who opened my
    record, the home page) and the commands that set up a whole practice."""

    name = "review"
    label = "review"
    verbose_name = "Review"

    def ready(self) -> None:
        from review.training import training_refusal
        from teletherapy.gates import on_clinical_access

        on_clinical_access(training_refusal)
