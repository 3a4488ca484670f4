"""A real syslog collector for the witness tests: Debian's rsyslog, receiving RFC 5425 syslog over
TLS with certificates made here (a CA and a server certificate for 127.0.0.1), writing every
message it gets to a file."""

from __future__ import annotations

import datetime as dt
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.browser import free_port

RSYSLOGD = shutil.which("rsyslogd") or "/usr/sbin/rsyslogd"
GTLS_DRIVER = "lmnsd_gtls.so"


def rsyslog_available() -> bool:
    if not Path(RSYSLOGD).exists():
        return False
    return any(Path(p).glob(f"**/{GTLS_DRIVER}") for p in ("/usr/lib/x86_64-linux-gnu/rsyslog", "/usr/lib/rsyslog"))


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def make_certificates(folder: Path, host: str = "127.0.0.1") -> dict[str, Path]:
    """A CA, and a server certificate it signed for ``host``: PEM files in ``folder``."""
    import ipaddress
    import secrets

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(f"Test CA {secrets.token_hex(4)}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(_name(host))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host)), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    files = {"ca": folder / "ca.pem", "cert": folder / "server.pem", "key": folder / "server.key"}
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files["cert"].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    files["key"].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    files["key"].chmod(0o600)
    return files


@dataclass
class Collector:
    folder: Path
    port: int
    certificates: dict[str, Path]
    process: subprocess.Popen | None = None

    @property
    def received(self) -> Path:
        return self.folder / "witness.log"

    @property
    def url(self) -> str:
        return f"syslog+tls://127.0.0.1:{self.port}"

    def _config(self) -> Path:
        work = self.folder / "work"
        work.mkdir(exist_ok=True)
        config = self.folder / "rsyslog.conf"
        config.write_text(
            f"""
global(
  workDirectory="{work}"
  maxMessageSize="64k"
  DefaultNetstreamDriver="gtls"
  DefaultNetstreamDriverCAFile="{self.certificates["ca"]}"
  DefaultNetstreamDriverCertFile="{self.certificates["cert"]}"
  DefaultNetstreamDriverKeyFile="{self.certificates["key"]}"
)
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" address="127.0.0.1" port="{self.port}" ruleset="witness")
ruleset(name="witness") {{
  action(type="omfile" file="{self.received}" template="RSYSLOG_SyslogProtocol23Format"
         flushOnTXEnd="on" asyncWriting="off")
}}
"""
        )
        return config

    def start(self) -> None:
        config = self._config()
        log = open(self.folder / "rsyslogd.out", "ab")  # noqa: SIM115 - kept open by the process
        self.process = subprocess.Popen(
            [RSYSLOGD, "-n", "-f", str(config), "-i", str(self.folder / "rsyslogd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"rsyslogd exited: {(self.folder / 'rsyslogd.out').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("rsyslogd did not start listening")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None

    def lines(self) -> list[str]:
        return self.received.read_text().splitlines() if self.received.exists() else []

    def wait_for(self, count: int, timeout: float = 15) -> list[str]:
        """The collector's file once it holds at least ``count`` messages of the platform."""
        deadline = time.monotonic() + timeout
        while True:
            ours = [line for line in self.lines() if " teletherapy " in line]
            if len(ours) >= count or time.monotonic() > deadline:
                return ours
            time.sleep(0.1)


@contextmanager
def collector(folder: Path) -> Iterator[Collector]:
    folder.mkdir(parents=True, exist_ok=True)
    running = Collector(folder=folder, port=free_port(), certificates=make_certificates(folder))
    running.start()
    try:
        yield running
    finally:
        running.stop()
