"""Notes list: the real API (50 sealed notes of ~1 KiB, access check, audit event) against the same
endpoint over plaintext rows with no audit, in the same run and the same process.

The baseline is the real endpoint with sealing and auditing taken out: the same model fields
(the body a plain text column), the same queries, the real serializer class. A second, leaner
plaintext endpoint (integer keys, no foreign keys) is measured alongside as a stricter reference.
All go through the whole Django stack (sessions, MFA middleware, DRF, JSON rendering) with
Django's test client, interleaved request by request so that drift affects them alike.

    .venv/bin/python benchmarks/notes_list.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/notes_list.py

A chart of 1,000 notes (BENCH_DEEP_NOTES; 0 leaves it out) is then paged: its first page and its
last are timed against the 50-note chart's page. BENCH_PROFILE=<folder> then runs the real and
the plaintext endpoint under cProfile in turn, prints where each spends its time and saves both
profiles there.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import types
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="notes-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "300"))
NOTES = 50
DEEP_NOTES = int(os.environ.get("BENCH_DEEP_NOTES", "1000"))  # 0: no long chart
PROFILE = os.environ.get("BENCH_PROFILE", "")  # a folder: profile both endpoints there


def main() -> None:
    from benchmarks.audit_append import ensure_postgres_database

    ensure_postgres_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, models
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path
    from django.utils import timezone
    from rest_framework import serializers
    from rest_framework.response import Response

    from accounts.api import VerifiedAPIView
    from records.selectors import Need, chart_get_for_user

    call_command("migrate", verbosity=0)
    call_command("migrate", database="psychotherapy", verbosity=0)

    from accounts.models import User
    from records.api import NoteSerializer
    from records.models import ClientChart

    # The same endpoint with plaintext and no audit: the progress-note models field for field
    # (UUID keys, foreign keys, the same columns and index) with the body a plain text column,
    # read by the same view code and serialized by the real serializer class.
    class PlainNote(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
        chart = models.ForeignKey(ClientChart, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
        author = models.ForeignKey(User, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
        template = models.CharField(max_length=8)
        service_date = models.DateField(default=timezone.localdate)
        session_id = models.UUIDField(null=True)
        minutes = models.PositiveSmallIntegerField(null=True)
        body = models.TextField()
        version = models.PositiveIntegerField(default=1)
        created_at = models.DateTimeField()
        updated_at = models.DateTimeField()
        signed_at = models.DateTimeField(null=True)
        shared_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "records"
            db_table = "bench_plain_note"
            managed = False
            ordering = ["-created_at"]
            indexes = [models.Index(fields=["chart", "created_at"], name="bench_plain_note_chart")]

    class PlainAddendum(models.Model):  # noqa: DJ008
        id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
        note = models.ForeignKey(PlainNote, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
        author = models.ForeignKey(User, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False)
        body = models.TextField()
        signed_at = models.DateTimeField()

        class Meta:
            app_label = "records"
            db_table = "bench_plain_addendum"
            managed = False
            ordering = ["signed_at"]

    class PlainSerializer(NoteSerializer):
        class Meta(NoteSerializer.Meta):
            model = PlainNote

    class PlainListView(VerifiedAPIView):
        """records.api.NoteListView.get line for line, minus sealing and the audit event."""

        def get(self, request, chart_id):
            chart, _access = chart_get_for_user(user=self.actor(request), chart_id=chart_id, need=Need.CLINICAL)
            notes = list(PlainNote.objects.filter(chart_id=chart.pk).defer("updated_at")[:200])
            addenda: dict = {note.pk: [] for note in notes}
            for addendum in PlainAddendum.objects.filter(note__chart_id=chart.pk).order_by("signed_at"):
                if addendum.note_id in addenda:
                    addenda[addendum.note_id].append(addendum)
            return Response(PlainSerializer(notes, many=True, context={"addenda": addenda}).data)

    # A stricter reference: a lean plaintext endpoint written for speed (integer keys, no foreign
    # keys, fewer columns), so part of the gap to it is not sealing or auditing at all.
    class LeanNote(models.Model):  # noqa: DJ008
        chart_id = models.UUIDField()
        author_id = models.BigIntegerField()
        template = models.CharField(max_length=8)
        body = models.TextField()
        version = models.PositiveIntegerField(default=1)
        created_at = models.DateTimeField()
        signed_at = models.DateTimeField(null=True)
        shared_at = models.DateTimeField(null=True)

        class Meta:
            app_label = "records"
            db_table = "bench_lean_note"
            managed = False
            ordering = ["-created_at"]

    class LeanAddendum(models.Model):  # noqa: DJ008
        note_id = models.BigIntegerField()
        body = models.TextField()

        class Meta:
            app_label = "records"
            db_table = "bench_lean_addendum"
            managed = False

    with connection.schema_editor() as editor:
        for model in (PlainNote, PlainAddendum, LeanNote, LeanAddendum):
            editor.execute(f"DROP TABLE IF EXISTS {model._meta.db_table}")
            editor.create_model(model)

    class LeanSerializer(serializers.ModelSerializer):
        sections = serializers.SerializerMethodField()
        addenda = serializers.SerializerMethodField()

        class Meta:
            model = LeanNote
            fields = [
                "id",
                "chart_id",
                "author_id",
                "template",
                "sections",
                "version",
                "created_at",
                "signed_at",
                "shared_at",
                "addenda",
            ]

        def get_sections(self, note: LeanNote) -> dict:
            return json.loads(note.body)

        def get_addenda(self, note: LeanNote) -> list:
            return [{"body": a.body} for a in self.context["addenda"].get(note.pk, [])]

    class LeanListView(VerifiedAPIView):
        def get(self, request, chart_id):
            chart_get_for_user(user=self.actor(request), chart_id=chart_id, need=Need.CLINICAL)  # raises if not
            notes = list(LeanNote.objects.filter(chart_id=chart_id)[:200])
            addenda: dict[int, list] = {}
            for addendum in LeanAddendum.objects.filter(note_id__in=[n.pk for n in notes]):
                addenda.setdefault(addendum.note_id, []).append(addendum)
            return Response(LeanSerializer(notes, many=True, context={"addenda": addenda}).data)

    urlconf = types.ModuleType("bench_urls")
    urlconf.urlpatterns = [
        path("bench/plain/<uuid:chart_id>/notes/", PlainListView.as_view()),
        path("bench/lean/<uuid:chart_id>/notes/", LeanListView.as_view()),
        path("", include(settings.ROOT_URLCONF)),
    ]
    sys.modules["bench_urls"] = urlconf

    from accounts.models import Practice, RoleGrant, TOTPDevice
    from records.selectors import Access
    from records.services import chart_create, note_create, note_sign

    stamp = time.time_ns()
    practice = Practice.objects.create(name="Bench", slug=f"bench-{stamp}")
    therapist = User.objects.create_user(f"t{stamp}@example.org", None, practice=practice, full_name="T")
    RoleGrant.objects.create(user=therapist, role="therapist")
    client_user = User.objects.create_user(f"c{stamp}@example.org", None, practice=practice, full_name="C")
    RoleGrant.objects.create(user=client_user, role="client")
    device = TOTPDevice(user=therapist, name="app", confirmed=True, secret="JBSWY3DPEHPK3PXP")  # noqa: S106 - a throwaway bench device
    device.save()
    chart = chart_create(actor=None, client=client_user, therapists=[therapist])
    text = ("The client described the week in some detail. " * 6)[:250]
    sections = {"subjective": text, "objective": text, "assessment": text, "plan": text}  # ~1 KiB
    for _ in range(NOTES):
        note = note_create(
            actor=therapist, chart=chart, access=Access.CARE_TEAM, template="soap", sections=sections, context=None
        )
        note_sign(actor=therapist, note=note, context=None)
        now = timezone.now()
        PlainNote.objects.create(
            chart_id=chart.pk,
            author_id=therapist.pk,
            template="soap",
            body=json.dumps(sections),
            version=2,
            created_at=now,
            updated_at=now,
            signed_at=now,
        )
        LeanNote.objects.create(
            chart_id=chart.pk,
            author_id=therapist.pk,
            template="soap",
            body=json.dumps(sections),
            version=2,
            created_at=now,
            signed_at=now,
        )

    client = Client()
    client.force_login(therapist)
    session = client.session
    now = int(time.time())
    session.update({"otp_device_id": device.persistent_id, "auth_at": now, "last_seen": now})
    session.save()
    real_url = f"/api/v1/records/charts/{chart.pk}/notes/"
    plain_url = f"/bench/plain/{chart.pk}/notes/"
    lean_url = f"/bench/lean/{chart.pk}/notes/"

    import gc

    gc.collect()
    gc.freeze()  # as teletherapy/asgi.py does after start-up: long-lived objects leave the collector's view
    with override_settings(ROOT_URLCONF="bench_urls"):
        for url in (real_url, plain_url, lean_url):  # warm up, and check all answer the same shape
            body = client.get(url).json()
            assert len(body) == NOTES and body[0]["sections"] == sections, url
        endpoints = (("real", real_url), ("plain", plain_url), ("lean", lean_url))
        timings: dict[str, list[float]] = {name: [] for name, _url in endpoints}
        for _ in range(REQUESTS):
            for name, url in endpoints:
                start = time.perf_counter()
                response = client.get(url)
                timings[name].append(time.perf_counter() - start)
                assert response.status_code == 200
        if PROFILE:  # where the real endpoint's extra time goes: each endpoint under cProfile in turn
            import cProfile
            import pstats

            folder = Path(PROFILE)
            folder.mkdir(parents=True, exist_ok=True)
            for name, url in endpoints[:2]:
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(REQUESTS):
                    client.get(url)
                profiler.disable()
                profiler.dump_stats(folder / f"notes-{name}.prof")
                print(f"\n{REQUESTS} requests to the {name} endpoint under cProfile ({folder / f'notes-{name}.prof'}):")
                pstats.Stats(profiler).sort_stats("tottime").print_stats(15)

    # A long chart: 1,000 sealed notes, paged 50 at a time. The first page and the last (the
    # oldest notes, reached by following the signed cursors) are timed in turn, and against the
    # 50-note chart's single page: the cost of a page should not grow with the chart.
    deep_timings: dict[str, list[float]] = {"first": [], "last": [], "short": []}
    last_page = max(DEEP_NOTES // NOTES, 1)
    if DEEP_NOTES:
        long_client = User.objects.create_user(f"d{stamp}@example.org", None, practice=practice, full_name="D")
        RoleGrant.objects.create(user=long_client, role="client")
        long_chart = chart_create(actor=None, client=long_client, therapists=[therapist])
        for _ in range(DEEP_NOTES):
            note = note_create(actor=therapist, chart=long_chart, access=Access.CARE_TEAM, template="soap",
                               sections=sections, context=None)  # fmt: skip
            note_sign(actor=therapist, note=note, context=None)
        long_url = f"/api/v1/records/charts/{long_chart.pk}/notes/"
        cursor_url = long_url
        for _ in range(last_page - 1):
            response = client.get(cursor_url)
            cursor_url = f"{long_url}?cursor={response['X-Next-Cursor']}"
        assert len(client.get(cursor_url).json()) == NOTES
        pages = (("first", long_url), ("last", cursor_url), ("short", real_url))
        for _ in range(max(REQUESTS // 3, 1)):
            for name, url in pages:
                start = time.perf_counter()
                response = client.get(url)
                deep_timings[name].append(time.perf_counter() - start)
                assert response.status_code == 200

    def summary(values: list[float]) -> tuple[float, float, float]:
        ordered = sorted(values)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return len(values) / sum(values), statistics.median(values) * 1000, p99 * 1000

    real, plain, lean = (summary(timings[name]) for name in ("real", "plain", "lean"))
    print(f"backend: {connection.vendor}, {REQUESTS} requests each, {NOTES} notes of ~1 KiB per response")
    print(f"same endpoint, plaintext, no audit: {plain[0]:7.1f} req/s  p50 {plain[1]:6.2f} ms  p99 {plain[2]:6.2f} ms")
    print(f"lean plaintext endpoint:            {lean[0]:7.1f} req/s  p50 {lean[1]:6.2f} ms  p99 {lean[2]:6.2f} ms")
    print(f"real (sealed, audited):             {real[0]:7.1f} req/s  p50 {real[1]:6.2f} ms  p99 {real[2]:6.2f} ms")
    print(f"throughput ratio real/same endpoint: {real[0] / plain[0]:.1%} (goal: at least 85%)")
    print(f"throughput ratio real/lean endpoint: {real[0] / lean[0]:.1%}")
    if DEEP_NOTES:
        first, last, short = (summary(deep_timings[n]) for n in ("first", "last", "short"))
        print(f"a chart of {DEEP_NOTES} notes, 50 a page (real endpoint):")
        print(f"  first page:      p50 {first[1]:6.2f} ms  p99 {first[2]:6.2f} ms")
        print(f"  page {last_page:<3}        p50 {last[1]:6.2f} ms  p99 {last[2]:6.2f} ms")
        print(f"  a 50-note chart: p50 {short[1]:6.2f} ms  p99 {short[2]:6.2f} ms")
        print(f"  page cost, page {last_page} / first: {last[1] / first[1]:.2f}x; first page / 50-note chart: "
              f"{first[1] / short[1]:.2f}x (goal: about 1.0x both)")  # fmt: skip


if __name__ == "__main__":
    main()
