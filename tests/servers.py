"""Real services a test starts for itself, and so may stop and start again: a PostgreSQL cluster
made with initdb in a temporary folder, and a redis-server on a port of its own. Both refuse to
run as root, so they run as the postgres user (runuser). The machine's shared services are
never touched."""

from __future__ import annotations

import contextlib
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.browser import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
AS_POSTGRES = ["runuser", "-u", "postgres", "--"]


def can_run_own_servers() -> bool:
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return False
    return (PG_BIN / "initdb").exists() and bool(shutil.which("runuser")) and bool(shutil.which("redis-server"))


def private_folder(prefix: str) -> Path:
    """A folder the postgres user can reach (pytest's own are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


def _owned_by_postgres(path: Path) -> Path:
    path.mkdir(mode=0o700, exist_ok=True)
    shutil.chown(path, "postgres")
    return path


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class PostgresCluster:
    folder: Path
    port: int = field(default_factory=free_port)
    settings: str = ""

    @property
    def data(self) -> Path:
        return self.folder / "pgdata"

    @property
    def sockets(self) -> Path:
        return self.folder / "pgsockets"

    def init(self) -> None:
        _owned_by_postgres(self.data)
        _owned_by_postgres(self.sockets)
        subprocess.run(
            [*AS_POSTGRES, str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres"],
            check=True,
            capture_output=True,
        )
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sockets}'\nfsync = off\n{self.settings}\n"
            )

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            [*AS_POSTGRES, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.sockets / "log"), *args],
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        self._ctl("-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self._ctl("-m", "fast", "-w", "restart")

    def sql(self, *statements: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database, autocommit=True) as c:
            for statement in statements:
                c.execute(statement)

    def url(self, user: str, database: str) -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{database}"

    def close(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@dataclass
class RedisServer:
    folder: Path
    port: int = field(default_factory=free_port)
    arguments: list[str] = field(default_factory=list)
    process: subprocess.Popen | None = None

    def start(self) -> None:
        work = _owned_by_postgres(self.folder / "redis")
        self.process = subprocess.Popen(
            [*AS_POSTGRES, shutil.which("redis-server") or "redis-server", "--port", str(self.port), "--bind",
             "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(work), *self.arguments],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        if "--tls-port" in self.arguments:
            wait_for_port(int(self.arguments[self.arguments.index("--tls-port") + 1]))
        else:
            wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None
