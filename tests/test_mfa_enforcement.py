"""Every URL outside a short allowlist needs a session that passed the second factor."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import password_only_session

pytestmark = pytest.mark.django_db

# Views that must work before the second factor. Adding to this list is a security decision.
ALLOWLIST = {
    "accounts:login",
    "accounts:logout",
    "accounts:mfa",
    "accounts:mfa_enroll",
    "accounts:invitation_accept",
    # The link sent to the account's e-mail (it needs the password first, then proves the address).
    "accounts:enroll_link",
    # A passkey's challenge: for the second step, passwordless sign-in and first enrolment, each
    # allowed only to the session that may take that step.
    "accounts:passkey_options",
    # Recovery: asked for before the second step (it is what was lost), and cancelled from the
    # link sent to the account's e-mail address.
    "accounts:recovery",
    "accounts:recovery_cancel",
    # A forgotten password: asking for the link, opening it, choosing the new password. None of
    # them signs anyone in past the second factor.
    "accounts:password_forgot",
    "accounts:password_reset",
    "accounts:password_reset_link",
    "health",
    # Liveness and readiness: probes of HAProxy, compose and Kubernetes; they name parts, not people.
    "health_live",
    "home:ready",
    # A calendar app's fetch of a therapist's feed: the secret address is the credential, and the
    # feed holds times and opaque links only (sessions.feed).
    "sessions:feed",
    # The privacy fact sheet is public on purpose: read before signing up (it holds no one's data).
    "privacy:index",
    "privacy:sheet",
    "api-privacy",
    # Asking a practice for a first session, before having an account (sessions.services.requests):
    # it takes a name and a way to reach the person, and shows nothing back.
    "sessions:ask",
    "first-sessions-api:ask",
    # The style guide: sample components, no one's data, and not served in production.
    "home:style_guide",
}

SAMPLE = {"int": "1", "uuid": str(uuid.uuid4()), "str": "sample", "slug": "sample", "path": "sample"}


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> list[tuple[str, str, object]]:
    found = []
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            found += _walk(entry, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace and entry.name else (entry.name or "")
            route = prefix + str(entry.pattern)
            found.append((name, route, entry.callback))
    return found


def _concrete(route: str) -> str:
    import re

    def fill(match: re.Match) -> str:
        converter, _, _name = match.group(1).rpartition(":")
        return SAMPLE.get(converter or "str", "sample")

    return "/" + re.sub(r"<([^>]+)>", fill, route).lstrip("^").rstrip("$")


def all_routes() -> list[tuple[str, str]]:
    return [(name, _concrete(route)) for name, route, _cb in _walk(get_resolver())]


def test_the_walk_finds_the_routes():
    names = {name for name, _ in all_routes()}
    assert {"home:dashboard", "accounts:security", "api-me", "api-schema"} <= names
    assert names >= ALLOWLIST


@pytest.mark.parametrize(("name", "url"), [r for r in all_routes() if r[0] not in ALLOWLIST])
@pytest.mark.parametrize("method", ["get", "post"])
def test_password_only_sessions_are_refused_everywhere_else(therapist, name, url, method):
    client = password_only_session(therapist)
    response = getattr(client, method)(url)
    if url.startswith("/api/"):
        assert response.status_code == 403, (name, url)
        assert response.json()["code"] == "mfa_required"
    else:
        assert response.status_code == 302, (name, url, response.status_code)
        assert response["Location"].startswith("/mfa/")


@pytest.mark.parametrize(("name", "url"), [r for r in all_routes() if r[0] not in ALLOWLIST])
def test_anonymous_visitors_are_refused_everywhere_else(name, url):
    response = Client().get(url)
    if url.startswith("/api/"):
        assert response.status_code == 403
        assert response.json()["code"] == "not_authenticated"
    else:
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_every_exempt_view_is_on_the_allowlist():
    exempt = {name for name, _route, cb in _walk(get_resolver()) if getattr(cb, "mfa_exempt", False)}
    assert exempt == ALLOWLIST
