"""What a process counts for Prometheus, and the listener it is scraped on.

prometheus-client (the project's own Python client) rather than django-prometheus: every series
and every label here is ours, so none can carry a person, a path with an id in it or a token.
Requests are labelled by their route's pattern (``charts/<uuid:chart_id>/``), never their path;
sockets and relayed messages by kind, from fixed lists.

Each process serves its own metrics on ``METRICS_ADDRESS`` (``host:port``), a listener apart from
the site that is never published: daphne processes, the worker. What belongs to the server rather
than a process (backups, the drill, the witness's backlog, queue lengths, readiness) is read when
scraped, by the collector that ``home`` registers.
"""

from __future__ import annotations

import logging
import threading

from prometheus_client import REGISTRY, Counter, Gauge, Histogram, start_http_server

logger = logging.getLogger(__name__)

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
SOCKET_KINDS = frozenset({"signaling", "presence"})
RELAYED_KINDS = frozenset({"offer", "answer", "ice", "verify"})

REQUESTS = Counter(
    "teletherapy_http_requests", "HTTP requests answered, by route pattern, method and status.",
    ["route", "method", "status"],
)  # fmt: skip
LATENCY = Histogram(
    "teletherapy_http_request_duration_seconds", "Time to answer an HTTP request, by route pattern.",
    ["route"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)  # fmt: skip
SOCKETS = Gauge("teletherapy_sockets_open", "WebSockets open in this process, by kind.", ["kind"])
RELAYED = Counter("teletherapy_relay_messages", "Signalling messages relayed between peers, by kind.", ["kind"])
AUDIT_APPENDS = Counter(
    "teletherapy_audit_appends", "Events appended to the audit trail by this process (before their commit)."
)
VERIFICATIONS = Counter("teletherapy_audit_verifications", "Chains verified by this process, by result.", ["result"])

_served: dict[str, int] = {}
_lock = threading.Lock()


def request_done(route: str, method: str, status: int, seconds: float) -> None:
    REQUESTS.labels(route, method if method in METHODS else "other", str(status)).inc()
    LATENCY.labels(route).observe(seconds)


def socket_opened(kind: str) -> None:
    SOCKETS.labels(kind if kind in SOCKET_KINDS else "other").inc()


def socket_closed(kind: str) -> None:
    SOCKETS.labels(kind if kind in SOCKET_KINDS else "other").dec()


def relayed(kind: str) -> None:
    RELAYED.labels(kind if kind in RELAYED_KINDS else "other").inc()


def audit_appended() -> None:
    AUDIT_APPENDS.inc()


def verification_done(chains: int, broken: int) -> None:
    """A verification run of ``chains`` chains, ``broken`` of which failed."""
    VERIFICATIONS.labels("intact").inc(max(chains - broken, 0))
    VERIFICATIONS.labels("broken").inc(broken)


def serve(address: str) -> int:
    """Start this process's listener on ``host:port`` (port 0: any free one) once; returns the port."""
    with _lock:
        if address in _served:
            return _served[address]
        host, _, port = address.rpartition(":")
        server, _thread = start_http_server(int(port), addr=host.strip("[]") or "127.0.0.1", registry=REGISTRY)
        _served[address] = server.server_address[1]
        logger.info("Metrics on %s:%s", host, _served[address])
        return _served[address]
