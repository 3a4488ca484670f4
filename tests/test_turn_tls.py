"""TURN over TLS, as the deployment runs it: coturn started with the compose file's TLS flags and
a certificate, answering a STUN request over a verified TLS connection, for networks that block
UDP and every port but 443; and the ICE servers browsers get include it."""

from __future__ import annotations

import os
import shutil
import socket
import ssl
import struct
import subprocess
import time

import pytest

from tests.browser import free_port
from tests.conftest import require_infrastructure
from tests.witness import make_certificates

pytestmark = pytest.mark.embedded


def compose_tls_flags() -> list[str]:
    import yaml

    from tests.test_deployment_files import ROOT

    command = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["coturn"]["command"]
    return [arg for arg in command if arg.startswith(("--tls-listening-port", "--cert", "--pkey", "--no-tlsv"))]


def test_the_deployment_serves_turn_over_tls_on_443_and_hands_it_out(tmp_path):
    flags = compose_tls_flags()
    assert "--tls-listening-port=443" in flags and any(f.startswith("--cert=") for f in flags)
    import yaml

    from tests.test_deployment_files import ROOT

    env = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["x-app"]["environment"]
    assert "turns:${TURN_HOST}:443?transport=tcp" in env["ICE_TURN_URLS"]


def test_coturn_answers_stun_over_verified_tls(tmp_path):
    binary = shutil.which("turnserver")
    require_infrastructure("coturn", bool(binary))
    certificates = make_certificates(tmp_path)
    port = free_port()
    flags = [f for f in compose_tls_flags() if not f.startswith(("--tls-listening-port", "--cert", "--pkey"))]
    log = open(tmp_path / "turn.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [
            binary, "-n", "--listening-ip=127.0.0.1", f"--tls-listening-port={port}", f"--listening-port={free_port()}",
            f"--cert={certificates['cert']}", f"--pkey={certificates['key']}", *flags,
            "--no-dtls", "--no-udp", "--no-cli", "--use-auth-secret", "--static-auth-secret=test-secret",
            "--realm=teletherapy.test", "--log-file=stdout", "--simple-log",
        ],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        context = ssl.create_default_context(cafile=str(certificates["ca"]))
        deadline = time.monotonic() + 20
        while True:
            try:
                raw = socket.create_connection(("127.0.0.1", port), timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise AssertionError((tmp_path / "turn.log").read_text(errors="replace")) from None
                time.sleep(0.2)
        with context.wrap_socket(raw, server_hostname="localhost") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
            transaction = os.urandom(12)
            tls.sendall(struct.pack(">HHI", 0x0001, 0, 0x2112A442) + transaction)  # a STUN Binding request
            header = tls.recv(20)
            kind, _length, cookie = struct.unpack(">HHI", header[:8])
            assert kind == 0x0101 and cookie == 0x2112A442 and header[8:20] == transaction  # Binding success
    finally:
        process.terminate()
        process.wait(10)
        log.close()
