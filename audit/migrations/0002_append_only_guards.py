from django.db import migrations

from teletherapy.appendonly import install_guards, remove_guards


def install(apps, schema_editor):
    install_guards(schema_editor.connection, "audit_auditevent")


def remove(apps, schema_editor):
    remove_guards(schema_editor.connection, "audit_auditevent")


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove, hints={"target_db": "default"})]
