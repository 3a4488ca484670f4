"""Docker does not run here, so check the compose file and Dockerfile against the project."""

from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

pytestmark = pytest.mark.embedded
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)


def test_it_describes_the_real_deployment(compose):
    assert set(compose["services"]) == {
        *("db", "psychotherapy-db", "redis", "migrate", "web1", "web2", "proxy", "signer", "worker", "beat"),
        "backup",
        "coturn",
        "janus",
    }


def test_janus_runs_the_tested_configuration_with_its_secrets(compose):
    """The janus service builds deploy/janus (Debian's Janus on the files tests/test_janus.py
    starts with the same run.sh), and the web processes hold the API secret and room key."""
    janus = compose["services"]["janus"]
    assert janus["build"] == "deploy/janus" and janus["network_mode"] == "host"
    dockerfile = (ROOT / "deploy/janus/Dockerfile").read_text()
    assert "apt-get install" in dockerfile and "janus" in dockerfile and "run.sh" in dockerfile
    for name in ("JANUS_API_SECRET", "JANUS_ADMIN_SECRET", "JANUS_ROOM_ADMIN_KEY"):
        assert name in janus["environment"]
    web = compose["services"]["web1"]["environment"]
    assert "JANUS_URL" in web and "JANUS_ROOM_ADMIN_KEY" in web and "JANUS_ADMIN_SECRET" not in web


WEB = ("web1", "web2")


def test_haproxy_fronts_every_daphne_process_with_the_tested_configuration(compose):
    """The proxy runs deploy/haproxy/haproxy.cfg (the one tests/test_scale_out.py starts), with a
    server for each web service, and holds the port the TLS proxy in front sends to."""
    proxy = compose["services"]["proxy"]
    assert proxy["image"].startswith("haproxy:")
    assert "./deploy/haproxy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in proxy["volumes"]
    assert proxy["ports"] == ["127.0.0.1:8000:8000"] and proxy["environment"]["PROXY_BIND"] == "0.0.0.0:8000"
    config = (ROOT / "deploy" / "haproxy" / "haproxy.cfg").read_text()
    variables = set(re.findall(r'server \w+ "\$\{(\w+)\}"', config))
    assert variables == {"WEB_1", "WEB_2"} and set(proxy["depends_on"]) == set(WEB)
    assert {proxy["environment"][v] for v in variables} == {f"{name}:8000" for name in WEB}
    assert "balance uri" in config and "hash-type consistent" in config and "path_beg /ws/sessions/" in config
    for name in WEB:
        assert "ports" not in compose["services"][name]  # reached only through the proxy


def test_the_app_services_build_this_project_and_set_every_production_setting(compose):
    settings_source = (ROOT / "teletherapy" / "settings.py").read_text()
    required = set(re.findall(r'require\("([A-Z_]+)"', settings_source)) | {"FIELD_ENCRYPTION_KEYS"}
    for name in ("migrate", *WEB, "signer", "worker", "beat", "backup"):
        service = compose["services"][name]
        assert service["build"] == "."
        env = service["environment"]
        assert env["DJANGO_ENV"] == "production"
        missing = required - set(env)
        assert not missing, (name, missing)


def test_the_web_service_runs_daphne_on_the_asgi_app_after_migrating(compose):
    migrate = " ".join(_command(compose["services"]["migrate"]))
    assert "migrate --noinput" in migrate and "migrate --database psychotherapy" in migrate
    for name in WEB:
        assert compose["services"][name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    words = _command(compose["services"]["web1"])
    script = " ".join(words)
    target = re.search(r"daphne .* (\S+:\S+)", script).group(1)
    module, attribute = target.split(":")
    assert hasattr(importlib.import_module(module), attribute)
    for name in re.findall(r"manage\.py (\w+)", script):
        assert name in get_commands()


def test_worker_and_beat_run_this_celery_app(compose):
    for name, role in (("worker", "worker"), ("beat", "beat")):
        words = _command(compose["services"][name])
        assert words[:4] == ["celery", "-A", "teletherapy", role]
    from teletherapy import celery_app

    celery_app.loader.import_default_modules()
    from django.conf import settings

    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["task"] in celery_app.tasks


def test_one_worker_makes_backups_with_the_owners_urls_and_every_process_shares_the_documents(compose):
    """Backups and drills are routed to a queue only the backup worker takes; it alone (with
    migrate) gets the owner's URLs, and the backup key; every app process mounts the same documents."""
    from django.conf import settings

    backup = compose["services"]["backup"]
    words = _command(backup)
    assert words[:4] == ["celery", "-A", "teletherapy", "worker"] and words[words.index("-Q") + 1] == "backups"
    assert settings.CELERY_TASK_ROUTES["operations.tasks.*"]["queue"] == "backups"
    worker = _command(compose["services"]["worker"])
    assert "backups" not in worker[worker.index("-Q") + 1].split(",")
    env = backup["environment"]
    assert {"MIGRATION_DATABASE_URL", "PSYCHOTHERAPY_MIGRATION_DATABASE_URL", "BACKUP_ENCRYPTION_KEYS"} <= set(env)
    assert env["BACKUP_DIR"] == "/backups" and any(v.endswith(":/backups") for v in backup["volumes"])
    for name in (*WEB, "worker", "beat", "signer"):
        others = compose["services"][name]["environment"]
        assert "MIGRATION_DATABASE_URL" not in others and "BACKUP_ENCRYPTION_KEYS" not in others, name
    for name in (*WEB, "worker", "backup"):
        assert "documents:/app/data/documents" in compose["services"][name]["volumes"], name
    assert "postgresql-client" in (ROOT / "Dockerfile").read_text()
    roles = (ROOT / "deploy" / "postgres" / "10-roles.sh").read_text()
    assert "teletherapy_owner NOSUPERUSER CREATEDB" in roles  # the drill's scratch databases


def test_the_brokers_redis_keeps_its_messages_across_a_restart(compose):
    redis = compose["services"]["redis"]
    words = _command(redis)
    assert words[words.index("--appendonly") + 1] == "yes"
    assert words[words.index("--appendfsync") + 1] == "everysec"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_the_psychotherapy_notes_have_their_own_database_server(compose):
    env = compose["services"]["web1"]["environment"]
    assert "@psychotherapy-db:" in env["PSYCHOTHERAPY_DATABASE_URL"]
    assert "@db:" in env["DATABASE_URL"]


def test_coturn_uses_short_lived_credentials_and_refuses_private_peers(compose):
    command = compose["services"]["coturn"]["command"]
    assert "--use-auth-secret" in command
    assert "--static-auth-secret=${TURN_SHARED_SECRET:?set TURN_SHARED_SECRET}" in command
    denied = [arg.split("=", 1)[1] for arg in command if arg.startswith("--denied-peer-ip=")]
    import ipaddress

    def refused(address: str) -> bool:
        ip = ipaddress.ip_address(address)
        for span in denied:
            low, _, high = span.partition("-")
            first, last = ipaddress.ip_address(low), ipaddress.ip_address(high or low)
            if first.version == ip.version and first <= ip <= last:
                return True
        return False

    for private in ("127.0.0.1", "10.1.2.3", "172.20.0.5", "192.168.1.10", "169.254.169.254", "::1", "fd00::1"):
        assert refused(private), private
    assert not refused("203.0.113.9") and not refused("2001:db8::1")
    # The web app hands out credentials made with the same secret, for these servers.
    app_env = compose["x-app"]["environment"]
    assert app_env["TURN_SHARED_SECRET"] == "${TURN_SHARED_SECRET:?set TURN_SHARED_SECRET}"
    assert "turn:" in app_env["ICE_TURN_URLS"]


def test_the_dockerfile_copies_every_app_and_runs_daphne():
    dockerfile = (ROOT / "Dockerfile").read_text()
    from django.conf import settings

    ours = [app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()]
    assert {"teletherapy", "messaging", "intake", "compliance", "oversight", "home"} <= set(ours)
    for folder in (*ours, "teletherapy", "templates", "static"):
        assert f"COPY {folder} ./{folder}" in dockerfile, folder
    assert "-c constraints.txt" in dockerfile
    assert '"teletherapy.asgi:application"' in dockerfile
    assert "USER app" in dockerfile


def test_only_migrate_holds_the_owners_urls_and_only_the_signer_the_signing_key(compose):
    services = compose["services"]
    for name in (*WEB, "signer", "worker", "beat"):
        env = services[name]["environment"]
        assert "MIGRATION_DATABASE_URL" not in env and "PSYCHOTHERAPY_MIGRATION_DATABASE_URL" not in env, name
        assert env["DATABASE_URL"].startswith("postgres://teletherapy_app:"), name
        assert ("AUDIT_SIGNING_KEYS" in env) == (name == "signer"), name
        assert "AUDIT_SIGNING_PUBLIC_KEYS" in env and env["AUDIT_WITNESS_URL"].startswith("${AUDIT_WITNESS_URL"), name
    migrate = services["migrate"]["environment"]
    assert migrate["MIGRATION_DATABASE_URL"].startswith("postgres://teletherapy_owner:")
    assert migrate["PSYCHOTHERAPY_MIGRATION_DATABASE_URL"].startswith("postgres://teletherapy_owner:")
    assert _command(services["signer"])[:4] == ["python", "manage.py", "audit_checkpoint", "--every"]
    init = "./deploy/postgres/10-roles.sh:/docker-entrypoint-initdb.d/10-roles.sh:ro"
    assert init in services["db"]["volumes"] and init in services["psychotherapy-db"]["volumes"]
    assert (ROOT / "deploy/postgres/10-roles.sh").exists()
