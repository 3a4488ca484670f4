from django.db import migrations

from teletherapy.appendonly import install_guards, remove_guards

TABLES = ("consent_consentsignature", "consent_consentwithdrawal")


def install(apps, schema_editor):
    for table in TABLES:
        install_guards(schema_editor.connection, table)


def remove(apps, schema_editor):
    for table in TABLES:
        remove_guards(schema_editor.connection, table)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(install, remove, hints={"target_db": "default"})]
