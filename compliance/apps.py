from django.apps import AppConfig


class ComplianceConfig(AppConfig):
    """The practice's own safeguards (45 CFR 164.308-414): privacy incidents and breaches, vendors
    and BAAs, workforce training, the security risk analysis and the public fact sheet.

    Its tables keep the label ``review`` they were made under, so no table or migration is renamed."""

    name = "compliance"
    label = "review"
    verbose_name = "Compliance"

    def ready(self) -> None:
        from compliance.services.training import training_refusal
        from teletherapy.hooks import clinical_gates

        clinical_gates.register(training_refusal)
