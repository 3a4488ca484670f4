"""Chain heads only move forward, by an append; and every practice has all its lanes' heads, so
the set of chains to verify is known without reading the events."""

from django.db import migrations

from teletherapy.appendonly import install_head_guard, remove_head_guard

LANES = 8  # audit.models.LANES, fixed forever
GENESIS = "0" * 64


def open_lanes(apps, schema_editor):
    Practice = apps.get_model("accounts", "Practice")
    AuditChainHead = apps.get_model("audit", "AuditChainHead")
    heads = [
        AuditChainHead(chain=practice_id * LANES + lane, seq=0, mac=GENESIS, digest=GENESIS)
        for practice_id in [0, *Practice.objects.values_list("pk", flat=True)]
        for lane in range(LANES)
    ]
    AuditChainHead.objects.bulk_create(heads, ignore_conflicts=True)


def install(apps, schema_editor):
    install_head_guard(schema_editor.connection, "audit_auditchainhead")


def remove(apps, schema_editor):
    remove_head_guard(schema_editor.connection, "audit_auditchainhead")


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_time_zone"),
        ("audit", "0008_seal_acknowledgement_note"),
    ]

    operations = [
        migrations.RunPython(open_lanes, migrations.RunPython.noop, hints={"target_db": "default"}),
        migrations.RunPython(install, remove, hints={"target_db": "default"}),
    ]
