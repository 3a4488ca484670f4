"""The broker keeps a queued task through a crash of its Redis: run with the compose file's own
arguments (AOF, flushed each second), killed without warning after a task is queued and before
any worker took it, started again, and a real worker then runs the task."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import redis
import yaml

from tests.conftest import require_infrastructure
from tests.servers import RedisServer, can_run_own_servers, private_folder

ROOT = Path(__file__).resolve().parent.parent

QUEUE = r"""
import django
django.setup()
from teletherapy import celery_app
celery_app.send_task("celery.accumulate", args=["survived", "the restart"], queue="celery")
"""


def _compose_redis_arguments() -> list[str]:
    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    return [str(word) for word in command[1:]]


def _queued(port: int) -> int:
    return int(redis.Redis(host="127.0.0.1", port=port, db=0).llen("celery"))


def test_a_queued_task_survives_a_crash_of_the_brokers_redis(tmp_path):
    require_infrastructure("redis-server and runuser (a Redis of the test's own)", can_run_own_servers())
    folder = private_folder("broker-")
    server = RedisServer(folder, arguments=_compose_redis_arguments())
    server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "MIGRATION_", "DJANGO_"))}
    env.update(
        REDIS_URL=f"redis://127.0.0.1:{server.port}/0",
        DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="teletherapy.settings",
        PYTHONPATH=str(ROOT),
    )
    worker = None
    try:
        subprocess.run([sys.executable, "-c", QUEUE], cwd=ROOT, env=env, check=True, timeout=60, capture_output=True)
        assert _queued(server.port) == 1
        time.sleep(1.5)  # appendfsync everysec: the log reaches the disk within a second
        assert server.process is not None
        server.process.send_signal(signal.SIGKILL)  # a crash: nothing is written on the way out
        server.process.wait(timeout=10)
        server.process = None
        server.start()
        assert _queued(server.port) == 1, "the queued task was lost with the broker's memory"

        log = tmp_path / "worker.log"
        with open(log, "w") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "teletherapy", "worker", "-Q", "celery", "--pool", "solo",
                 "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            )  # fmt: skip
            deadline = time.monotonic() + 60
            while "succeeded" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.2)
        said = log.read_text()
        assert "celery.accumulate" in said and "succeeded" in said and "'survived', 'the restart'" in said, said[-2000:]
        assert _queued(server.port) == 0
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=20)
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)
