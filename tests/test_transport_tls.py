"""PostgreSQL with sslmode=verify-full and Redis over rediss://, each a real server this test
starts for itself with certificates it makes: the platform's own connections (database, cache,
channel layer, Celery broker) work over TLS, and refuse a server whose certificate their CA did
not sign."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.browser import free_port
from tests.conftest import require_infrastructure
from tests.servers import PostgresCluster, RedisServer, can_run_own_servers, private_folder
from tests.witness import make_certificates

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json, django
django.setup()
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.core.cache import cache
from django.db import connection
from teletherapy.celery import app

found = {}
with connection.cursor() as cursor:
    cursor.execute("SELECT ssl, version FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
    found["database_tls"], found["database_tls_version"] = cursor.fetchone()
cache.set("tls-probe", "over tls", 30)
found["cache"] = cache.get("tls-probe")
layer = get_channel_layer()
async def round_trip():
    name = await layer.new_channel()
    await layer.send(name, {"type": "probe", "text": "over tls"})
    return (await layer.receive(name))["text"]
found["channel_layer"] = async_to_sync(round_trip)()
with app.connection_for_write() as broker:
    broker.ensure_connection(max_retries=1)
    found["broker"] = broker.connected
print(json.dumps(found))
"""


@pytest.fixture(scope="module")
def servers():
    require_infrastructure("initdb, runuser and redis-server (servers of the test's own)", can_run_own_servers())
    folder = private_folder("tls-servers-")
    certificates = make_certificates(folder)
    other = folder / "other"
    other.mkdir()
    wrong_ca = make_certificates(other)["ca"]
    for path in (*certificates.values(), wrong_ca):
        shutil.chown(path, "postgres")
    cluster = PostgresCluster(
        folder, settings=f"ssl = on\nssl_cert_file = '{certificates['cert']}'\nssl_key_file = '{certificates['key']}'"
    )
    cluster.init()
    cluster.start()
    redis_port = free_port()
    redis = RedisServer(
        folder,
        port=0,
        arguments=[
            *("--tls-port", str(redis_port), "--tls-cert-file", str(certificates["cert"])),
            *("--tls-key-file", str(certificates["key"]), "--tls-ca-cert-file", str(certificates["ca"])),
            *("--tls-auth-clients", "no"),
        ],
    )
    redis.start()
    try:
        yield {"pg_port": cluster.port, "redis_port": redis_port, "ca": certificates["ca"], "wrong_ca": wrong_ca,
               "folder": folder}  # fmt: skip
    finally:
        redis.stop()
        cluster.close()


def _probe(servers, ca: Path, redis_ca: Path | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_", "REDIS", "DJANGO_"))}
    env.update(
        DATABASE_URL=(
            f"postgres://postgres@127.0.0.1:{servers['pg_port']}/postgres?sslmode=verify-full&sslrootcert={ca}"
        ),
        REDIS_URL=f"rediss://127.0.0.1:{servers['redis_port']}/0",
        REDIS_CA_FILE=str(redis_ca or ca),
        DATA_DIR=str(servers["folder"] / "data"),
        DJANGO_SETTINGS_MODULE="teletherapy.settings",
        PYTHONPATH=str(ROOT),
    )
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_the_database_cache_channel_layer_and_broker_work_over_verified_tls(servers):
    result = _probe(servers, servers["ca"])
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["database_tls"] is True and found["database_tls_version"].startswith("TLSv1.")
    assert found["cache"] == "over tls" and found["channel_layer"] == "over tls" and found["broker"] is True


@pytest.mark.parametrize("which", ["database", "redis"])
def test_a_server_certificate_from_another_ca_is_refused(servers, which):
    if which == "database":
        result = _probe(servers, servers["wrong_ca"], redis_ca=servers["ca"])
    else:
        result = _probe(servers, servers["ca"], redis_ca=servers["wrong_ca"])
    assert result.returncode != 0
    assert "certificate verify failed" in result.stderr, result.stderr[-2000:]
