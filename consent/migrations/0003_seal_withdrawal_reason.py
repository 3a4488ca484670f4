"""A withdrawal's reason is what a person typed about themself: sealed in place with the key ring."""

from django.db import migrations

from teletherapy.sealing import seal_in_place


class Migration(migrations.Migration):
    dependencies = [("consent", "0002_append_only_guards")]

    operations = seal_in_place(
        app_label="consent", model_name="consentwithdrawal", field="reason", table="consent_consentwithdrawal"
    )
