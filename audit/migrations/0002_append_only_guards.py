from django.db import migrations

from audit.db import install_append_only_guards, remove_append_only_guards


def install(apps, schema_editor):
    install_append_only_guards(schema_editor.connection)


def remove(apps, schema_editor):
    remove_append_only_guards(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("audit", "0001_initial")]

    operations = [migrations.RunPython(install, remove, hints={"target_db": "default"})]
