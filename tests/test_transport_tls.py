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
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import require_infrastructure
from tests.witness import free_port, make_certificates

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")

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
    require_infrastructure("PostgreSQL 15 server binaries", (PG_BIN / "initdb").exists())
    require_infrastructure("redis-server", bool(shutil.which("redis-server")))
    require_infrastructure("runuser and the postgres user", bool(shutil.which("runuser")) and _postgres_user())
    folder = Path(tempfile.mkdtemp(prefix="tls-servers-"))
    folder.chmod(0o755)
    certificates = make_certificates(folder)
    other = folder / "other"
    other.mkdir()
    wrong_ca = make_certificates(other)["ca"]
    for path in (*certificates.values(), wrong_ca):
        shutil.chown(path, "postgres")
    data, sockets = folder / "pgdata", folder / "sockets"
    for owned in (data, sockets):
        owned.mkdir(mode=0o700)
        shutil.chown(owned, "postgres")
    pg_port, redis_port = free_port(), free_port()
    as_postgres = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_postgres, PG_BIN / "initdb", "-D", data, "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)  # fmt: skip
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"port = {pg_port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{sockets}'\n"
            f"ssl = on\nssl_cert_file = '{certificates['cert']}'\nssl_key_file = '{certificates['key']}'\n"
        )
    subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-l", sockets / "pg.log", "-w", "start"], check=True,
                   capture_output=True)  # fmt: skip
    redis = subprocess.Popen(
        [*as_postgres, shutil.which("redis-server"), "--port", "0", "--tls-port", str(redis_port),
         "--bind", "127.0.0.1", "--tls-cert-file", str(certificates["cert"]),
         "--tls-key-file", str(certificates["key"]), "--tls-ca-cert-file", str(certificates["ca"]),
         "--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", str(sockets)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(0.5)
    try:
        yield {"pg_port": pg_port, "redis_port": redis_port, "ca": certificates["ca"], "wrong_ca": wrong_ca,
               "folder": folder}  # fmt: skip
    finally:
        redis.terminate()
        redis.wait(timeout=10)
        subprocess.run([*as_postgres, PG_BIN / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _postgres_user() -> bool:
    import pwd

    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return True


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
