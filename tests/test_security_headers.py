"""Security headers on every response, and the production hardening."""

from __future__ import annotations

import base64
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.django_db, pytest.mark.embedded]
ROOT = Path(__file__).resolve().parent.parent


def test_the_login_page_carries_a_strict_policy(client):
    response = client.get("/login/")
    csp = response["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"
    assert "camera=()" in response["Permissions-Policy"] and "microphone=()" in response["Permissions-Policy"]
    assert "display-capture=()" in response["Permissions-Policy"]


def test_authenticated_pages_are_never_cached(login_as, therapist):
    for url in ["/", "/account/security/", "/api/v1/me/"]:
        assert "no-store" in login_as(therapist).get(url)["Cache-Control"], url


def test_pages_have_no_inline_script_or_style(login_as, admin):
    client = login_as(admin)
    for url in ["/", "/account/security/", "/practice/invitations/", "/practice/members/", "/account/mfa/replace/"]:
        html = client.get(url).content.decode()
        assert "<script>" not in html and "<style" not in html and " style=" not in html, url
        assert " onclick=" not in html and "javascript:" not in html, url


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    def key() -> str:
        return base64.b64encode(secrets.token_bytes(32)).decode()

    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DJANGO_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "therapy.example.org",
        "SITE_URL": "https://therapy.example.org",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'prod.sqlite3'}",
        "REDIS_URL": "redis://127.0.0.1:6379/15",
        "FIELD_ENCRYPTION_KEYS": f"f1:{key()}",
        "PSYCHOTHERAPY_ENCRYPTION_KEYS": f"p1:{key()}",
        "AUDIT_HMAC_KEYS": f"a1:{key()}",
        "BLIND_INDEX_KEYS": f"i1:{key()}",
        "AUDIT_SIGNING_KEYS": f"s1:{key()}",
        "DATA_DIR": str(tmp_path / "data"),
        "AUDIT_WITNESS_URL": "syslog+tls://witness.example.org:6514",
    }
    env.update(overrides)
    return {k: v for k, v in env.items() if v != ""}


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_production_settings_pass_the_deploy_check_at_warning_level(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "FIELD_ENCRYPTION_KEYS", "AUDIT_HMAC_KEYS", "REDIS_URL"]
)
def test_production_refuses_to_start_without(tmp_path, missing):
    env = production_env(tmp_path, **{missing: ""})
    if missing == "FIELD_ENCRYPTION_KEYS":
        env.pop("PSYCHOTHERAPY_ENCRYPTION_KEYS")
        env.pop("AUDIT_HMAC_KEYS")
    result = manage(env, "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and missing.split("_")[0] in result.stderr
    assert not (tmp_path / "data" / "keyring.json").exists()


def test_production_refuses_debug(tmp_path):
    result = manage(production_env(tmp_path, DEBUG="true"), "check")
    assert result.returncode != 0 and "DEBUG" in result.stderr


def test_production_cookies_and_hsts(tmp_path):
    script = (
        "import django; django.setup()\n"
        "from django.test import Client\n"
        "r = Client().get('/login/', secure=True, HTTP_HOST='therapy.example.org')\n"
        "print(r.status_code); print(r['Strict-Transport-Security']); print(r.cookies.output())\n"
    )
    env = production_env(tmp_path, DJANGO_SETTINGS_MODULE="teletherapy.settings")
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    status, hsts, cookies = result.stdout.split("\n", 2)
    assert status == "200"
    max_age = int(hsts.split("max-age=")[1].split(";")[0])
    assert max_age >= 31536000
    assert "__Host-csrftoken=" in cookies and "Secure" in cookies and "SameSite=Lax" in cookies
    assert "Path=/" in cookies and "Domain" not in cookies


def test_the_seed_command_is_refused_in_production(tmp_path):
    env = production_env(tmp_path)
    assert manage(env, "migrate", "--noinput").returncode == 0
    result = manage(env, "seed_demo")
    assert result.returncode != 0 and "cannot be loaded in production" in result.stderr


def test_the_deploy_check_warns_of_plain_transport_to_remote_services_and_a_missing_witness(tmp_path):
    env = production_env(
        tmp_path,
        DATABASE_URL="postgres://teletherapy_app@db.internal.example.org:5432/teletherapy",
        REDIS_URL="redis://cache.internal.example.org:6379/0",
        AUDIT_WITNESS_URL="",
    )
    result = manage(env, "check", "--deploy")
    output = result.stdout + result.stderr
    for code in ("teletherapy.W001", "teletherapy.W002", "teletherapy.W003"):
        assert code in output, output
    assert "sslmode=verify-full" in output and "rediss://" in output and "AUDIT_WITNESS_URL" in output
    secured = production_env(
        tmp_path,
        DATABASE_URL="postgres://teletherapy_app@db.internal.example.org:5432/teletherapy?sslmode=verify-full",
        REDIS_URL="rediss://cache.internal.example.org:6379/0",
    )
    result = manage(secured, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("site", "error"),
    [("http://therapy.example.org", "teletherapy.E002"), ("https://elsewhere.example.org", "teletherapy.E003")],
)
def test_the_deploy_check_refuses_a_site_url_passkeys_cannot_use(tmp_path, site, error):
    result = manage(production_env(tmp_path, SITE_URL=site), "check", "--deploy")
    assert result.returncode != 0 and error in result.stdout + result.stderr
