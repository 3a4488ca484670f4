"""Tokens in paths (a calendar feed's address, set-up, invitation and recovery links) never reach a
log: not daphne's access log, not Django's request warnings, not HAProxy's log."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote

from django.urls import URLPattern, URLResolver, get_resolver, reverse

from teletherapy.log_redaction import SECRET_PREFIXES, redact
from tests.browser import ROOT, free_port, server_logs
from tests.conftest import require_infrastructure

SECRETS = {
    "/invite/{}/": "InviteSecret7f3a",
    "/mfa/enroll/link/{}/": "EnrolSecret9c2b",
    "/mfa/recovery/cancel/{}/": "RecoverySecret4d1e",
    "/password/reset/{}/": "ResetSecret5e0f",
    "/sessions/feed/{}.ics": "FeedSecret8a6c",
}


def token_routes(patterns=None, prefix: str = "", namespace: str = "") -> list[str]:
    """The names of every URL pattern that takes a token."""
    found = []
    for pattern in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            found += token_routes(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern) and "token" in pattern.pattern.converters and pattern.name:
            found.append(namespace + pattern.name)
    return found


def test_every_route_that_takes_a_token_is_redacted():
    names = token_routes()
    assert len(names) >= 4, names
    for name in names:
        path = reverse(name, kwargs={"token": "SecretToken42"})
        assert path.startswith(SECRET_PREFIXES), path
        assert "SecretToken42" not in redact(f'127.0.0.1 - - [x] "GET {path}?a=1 HTTP/1.1" 404'), path
        # As a sign-in link's ?next= carries it, percent-encoded.
        assert "SecretToken42" not in redact(f"GET /login/?next={quote(path, safe='')} 200"), path
    assert redact("/records/charts/abc/") == "/records/charts/abc/"


def fetch(url: str) -> None:
    with contextlib.suppress(urllib.error.HTTPError):  # a refusal is still logged
        urllib.request.urlopen(url, timeout=10).read()  # noqa: S310 - loopback


def test_the_running_platform_logs_no_token(server):
    """The run command's daphne and Django, through their own logging (the terminal, and the access
    log and the worker's under data/)."""
    for path, secret in SECRETS.items():
        fetch(server.url + path.format(secret))
    deadline = time.monotonic() + 10
    while "/sessions/feed/[redacted]" not in server_logs(server) and time.monotonic() < deadline:
        time.sleep(0.2)
    text = server_logs(server)
    for secret in SECRETS.values():
        assert secret not in text, secret
    assert "/invite/[redacted]" in text and "/sessions/feed/[redacted]" in text


class Answer(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: object) -> None:
        pass


def test_haproxy_logs_no_token(tmp_path):
    """deploy/haproxy/haproxy.cfg, in front of a plain answering server."""
    binary = shutil.which("haproxy")
    require_infrastructure("haproxy (Debian's package)", bool(binary))
    assert binary is not None
    backend = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    port = free_port()
    where = f"127.0.0.1:{backend.server_address[1]}"
    env = {"PATH": "/usr/sbin:/usr/bin:/bin", "PROXY_BIND": f"127.0.0.1:{port}", "WEB_1": where, "WEB_2": where}
    log_path = tmp_path / "haproxy.log"
    config = ROOT / "deploy" / "haproxy" / "haproxy.cfg"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([binary, "-db", "-f", str(config)], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                fetch(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        for path, secret in SECRETS.items():
            fetch(f"http://127.0.0.1:{port}" + path.format(secret) + "?also=QuerySecret")
        fetch(f"http://127.0.0.1:{port}/records/charts/")
        while "/records/charts/" not in log_path.read_text(errors="replace") and time.monotonic() < deadline + 10:
            time.sleep(0.1)
    finally:
        process.terminate()
        process.wait(timeout=10)
        backend.shutdown()
    text = log_path.read_text(errors="replace")
    for secret in [*SECRETS.values(), "QuerySecret"]:
        assert secret not in text, secret
    assert '"GET /invite/[redacted] HTTP/1.1"' in text and '"GET /records/charts/ HTTP/1.1"' in text, text
