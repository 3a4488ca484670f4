"""Documents: uploading and downloading a 20 MiB PDF through the real pages (size check, type
sniffing, sealing chunk by chunk into the store, the audit event; then the door, the seal's
checks and streaming) against plain file streaming through the same stack: a view that writes
the upload's chunks to the same kind of store as they are, and one that streams the file back
with Django's FileResponse. The same Django stack for both (sessions, MFA middleware, CSRF
off as for any test client), interleaved round by round. Peak Python memory is measured apart,
with tracemalloc, for one upload and one download of each.

No virus scan in either (clamd's own time is clamd's, not the platform's; set CLAMD_SOCKET to
include it in ours).

    .venv/bin/python benchmarks/documents.py
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/teletherapy_bench .venv/bin/python benchmarks/documents.py
"""

from __future__ import annotations

import base64
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="documents-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "teletherapy.settings")
os.environ.pop("REDIS_URL", None)

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "8"))
SIZE = 20 * 1024 * 1024


def main() -> None:
    from benchmarks.audit_append import ensure_postgres_database

    ensure_postgres_database()
    import django

    django.setup()
    from django.core.files.storage import FileSystemStorage
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.http import FileResponse, HttpResponse
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path

    from accounts.models import Role, TOTPDevice, User
    from accounts.services.practices import practice_create, user_create
    from records.models import ChartDocument
    from records.services import chart_create
    from tests.conftest import verified_session

    call_command("migrate", verbosity=0)
    call_command("migrate", database="psychotherapy", verbosity=0)
    practice = practice_create(name="Bench", slug=f"bench-{os.getpid()}")
    therapist = user_create(
        practice=practice,
        email=f"t{os.getpid()}@bench.example",
        full_name="T",
        password="Bench-pass-2026!",  # noqa: S106 - a throwaway benchmark account
        roles=[Role.THERAPIST],
    )
    client_user = user_create(
        practice=practice,
        email=f"c{os.getpid()}@bench.example",
        full_name="C",
        password="Bench-pass-2026!",  # noqa: S106 - a throwaway benchmark account
        roles=[Role.CLIENT],
    )
    chart = chart_create(actor=None, client=client_user, therapists=[therapist])
    TOTPDevice(user=therapist, name="app", confirmed=True, secret=base64.b32encode(os.urandom(20)).decode()).save()
    therapist = User.objects.get(pk=therapist.pk)

    plain_root = Path(tempfile.mkdtemp(prefix="plain-store-"))
    plain_store = FileSystemStorage(location=str(plain_root))

    def plain_upload(request):
        upload = request.FILES["file"]
        name = plain_store.save("upload.pdf", upload)  # the chunks, as they are
        return HttpResponse(name)

    def plain_download(request, name):
        return FileResponse(plain_store.open(name, "rb"), as_attachment=True, filename="upload.pdf")

    bench_urls = types.ModuleType("bench_urls")
    bench_urls.urlpatterns = [
        path("plain/upload/", plain_upload),
        path("plain/download/<path:name>", plain_download),
        path("", include("teletherapy.urls")),
    ]
    sys.modules["bench_urls"] = bench_urls

    body = b"%PDF-1.4\n" + os.urandom(SIZE - 16) + b"\n%%EOF\n"

    with override_settings(ROOT_URLCONF="bench_urls"):
        client = verified_session(Client(), therapist)

        def ours_up() -> str:
            client.post(f"/records/charts/{chart.pk}/documents/", {"file": SimpleUploadedFile("a.pdf", body)})
            return str(ChartDocument.objects.latest("uploaded_at").pk)

        def ours_down(document_id: str) -> int:
            response = client.get(f"/records/documents/{document_id}/")
            assert response.status_code == 200, response.status_code
            return sum(len(chunk) for chunk in response.streaming_content)

        def plain_up() -> str:
            return client.post("/plain/upload/", {"file": SimpleUploadedFile("a.pdf", body)}).content.decode()

        def plain_down(name: str) -> int:
            response = client.get(f"/plain/download/{name}")
            total = sum(len(chunk) for chunk in response.streaming_content)
            response.close()
            return total

        assert ours_down(ours_up()) == SIZE and plain_down(plain_up()) == SIZE  # warm up, and check
        times: dict[str, list[float]] = {"ours up": [], "ours down": [], "plain up": [], "plain down": []}
        for _ in range(ROUNDS):
            for who, up, down in (("ours", ours_up, ours_down), ("plain", plain_up, plain_down)):
                started = time.perf_counter()
                handle = up()
                times[f"{who} up"].append(time.perf_counter() - started)
                started = time.perf_counter()
                assert down(handle) == SIZE
                times[f"{who} down"].append(time.perf_counter() - started)

        peaks = {}
        for who, up, down in (("ours", ours_up, ours_down), ("plain", plain_up, plain_down)):
            tracemalloc.start()
            handle = up()
            peaks[f"{who} up"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.reset_peak()
            down(handle)
            peaks[f"{who} down"] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()

    mib = SIZE / (1024 * 1024)
    print(f"{mib:.0f} MiB PDF, {ROUNDS} rounds, {os.cpu_count()} cores")
    print("| | median | MiB/s | peak Python memory |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median * 1000:.0f} ms | {mib / median:.0f} | {peaks[name] / 2**20:.1f} MiB |")
    for step in ("up", "down"):
        ratio = statistics.median(times[f"ours {step}"]) / statistics.median(times[f"plain {step}"])
        print(f"{step}load time ratio, ours / plain: {ratio:.2f}x")


if __name__ == "__main__":
    main()
