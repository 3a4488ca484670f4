"""An alert's acknowledgement note may be about a client: sealed in place, bound to its flag."""

from django.db import migrations

from teletherapy.sealing import seal_in_place


class Migration(migrations.Migration):
    dependencies = [("audit", "0007_alerts")]

    operations = seal_in_place(
        app_label="audit",
        model_name="auditflagacknowledgement",
        field="note",
        table="audit_auditflagacknowledgement",
        aad_field="flag_id",
    )
