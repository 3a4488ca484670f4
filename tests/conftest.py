"""Shared fixtures: three personas per practice, a stranger in another practice, and helpers
to reach a fully signed-in (password + second factor) session."""

from __future__ import annotations

import base64
import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import Client, TransactionTestCase
from django.utils import timezone
from django_otp.oath import TOTP

from accounts.login_session import AUTH_AT_KEY, DEVICE_SESSION_KEY, LAST_SEEN_KEY
from accounts.models import GuardianLink, Practice, Role, RoleGrant, TOTPDevice, User
from accounts.rules import REAUTH_SESSION_KEY
from teletherapy.appendonly import guards_lifted
from teletherapy.dbroles import connected_as, migration_settings, runtime_role

IN_CI = os.environ.get("CI", "").lower() == "true"
PASSWORD = "Correct-horse-battery-9"


def require_infrastructure(what: str, available: bool) -> None:
    """Skip when a service is missing on a developer machine; fail under CI."""
    if available:
        return
    if IN_CI:
        pytest.fail(f"{what} is required under CI but is not available")
    pytest.skip(f"{what} is not available")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if IN_CI and skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; under CI a skip is a failure.", red=True)
        session.exitstatus = 1


@contextmanager
def as_owner(*aliases: str) -> Iterator[None]:
    """Connect these databases (all by default) as the owner for a while, as `migrate` does: what
    the runtime role the tests run as may not do (lift a trigger, alter a table, flush). Only
    between transactions: each connection is closed first. A no-op without an owner URL
    (SQLite, or PostgreSQL with one role)."""
    with ExitStack() as stack:
        for alias in aliases or tuple(connections):
            stack.enter_context(connected_as(alias, migration_settings(alias)))
        yield


def _credentials(alias: str, owner: bool) -> None:
    connection = connections[alias]
    if owner:
        credentials = migration_settings(alias)
    else:
        credentials = {**(migration_settings(alias) or {}), **_runtime_credentials[alias]}
    if credentials:
        connection.close()
        connection.settings_dict.update({key: credentials.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")})


_runtime_credentials = {
    alias: {key: connections[alias].settings_dict.get(key) for key in ("USER", "PASSWORD", "HOST", "PORT")}
    for alias in connections
}


# Flushing the database between transactional tests truncates the append-only tables: the owner
# does it, with their triggers lifted around the flush only.
_original_teardown = TransactionTestCase._fixture_teardown


def _teardown_as_owner(self: TransactionTestCase) -> None:
    from audit.append import lanes_open

    with as_owner(), guards_lifted(connections["default"]):
        _original_teardown(self)
    lanes_open(None)  # the system lanes a migration opened, as on a new database


TransactionTestCase._fixture_teardown = _teardown_as_owner


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """The owner creates and migrates the test databases (and drops them at the end)."""
    for alias in connections:
        _credentials(alias, owner=True)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None) -> object:
    """pytest-django's database set-up; then the tests run as the runtime role. Before the test
    databases are dropped: async tests run sync code (consumers, async views) in asgiref's shared
    thread, whose database connections nothing else closes; then the owner takes over again."""
    for alias in connections:
        _credentials(alias, owner=False)
    yield
    import asyncio

    from asgiref.sync import sync_to_async

    asyncio.run(sync_to_async(connections.close_all)())
    for alias in connections:
        _credentials(alias, owner=True)


def tamper_as_owner(*statements: tuple[str, list] | str) -> None:
    """What someone holding the owner's credentials can do: lift the guards and change the log.
    The test must be transactional (the owner's connection is a new one)."""
    with as_owner(), guards_lifted(connections["default"]), connections["default"].cursor() as cursor:
        for statement in statements:
            sql, params = (statement, []) if isinstance(statement, str) else statement
            cursor.execute(sql, params)


def owner_cursor_sql(*statements: str) -> None:
    """Run statements on a connection of the owner's own, outside the test's transaction."""
    import psycopg

    connection = connections["default"]
    owner = migration_settings("default") or {}
    with psycopg.connect(
        host=owner.get("HOST") or connection.settings_dict["HOST"],
        port=owner.get("PORT") or connection.settings_dict["PORT"],
        user=owner.get("USER") or connection.settings_dict["USER"],
        password=owner.get("PASSWORD") or None,
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as raw:
        for statement in statements:
            raw.execute(statement)


@contextmanager
def audit_table_away() -> Iterator[None]:
    """A realistic audit failure: the table the events go to is not there (disk, permissions,
    a migration gone wrong). With two roles the owner takes the runtime role's right to add to it
    (the runtime role could not rename a table)."""
    if connections["default"].vendor == "postgresql" and migration_settings("default"):
        role = connections["default"].ops.quote_name(runtime_role("default"))
        owner_cursor_sql(f"REVOKE INSERT ON audit_auditevent FROM {role}")
        try:
            yield
        finally:
            owner_cursor_sql(f"GRANT INSERT ON audit_auditevent TO {role}")
        return
    with connections["default"].cursor() as cursor:
        cursor.execute("ALTER TABLE audit_auditevent RENAME TO audit_auditevent_away")
    try:
        yield
    finally:
        with connections["default"].cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent_away RENAME TO audit_auditevent")


@pytest.fixture(autouse=True)
def eager_celery() -> object:
    """Tasks run in-process unless a test asks for the real broker and worker."""
    from teletherapy.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(scope="session", autouse=True)
def _document_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Uploaded documents go to a store of the test session's own, not the data folder."""
    from django.conf import settings
    from django.test import override_settings

    root = tmp_path_factory.mktemp("documents")
    storages = {**settings.STORAGES, "documents": {"BACKEND": "django.core.files.storage.FileSystemStorage",
                                                   "OPTIONS": {"location": str(root)}}}  # fmt: skip
    with override_settings(STORAGES=storages):
        yield root


# The EICAR test file's signature, as a body signature: found wherever it sits in a file. The
# whole database clamd runs with in the tests: nothing is downloaded.
EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real clamd (Debian's clamav-daemon) on a socket of its own; yields the socket's path."""
    import shutil
    import subprocess

    binary = shutil.which("clamd") or ("/usr/sbin/clamd" if Path("/usr/sbin/clamd").exists() else None)
    require_infrastructure("clamd (clamav-daemon)", binary is not None)
    home = tmp_path_factory.mktemp("clamd")
    (home / "db").mkdir()
    (home / "db" / "test.ndb").write_text(f"Eicar-Test-Signature:0:*:{EICAR.hex()}\n")
    socket_path = home / "clamd.sock"
    (home / "clamd.conf").write_text(
        f"LocalSocket {socket_path}\nDatabaseDirectory {home / 'db'}\nForeground yes\n"
        f"LogFile {home / 'clamd.log'}\nTemporaryDirectory {home}\nStreamMaxLength 64M\n"
    )
    process = subprocess.Popen(
        [str(binary), "-c", str(home / "clamd.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 60
    while not socket_path.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(
                f"clamd did not start: {(home / 'clamd.log').read_text() if (home / 'clamd.log').exists() else ''}"
            )
        time.sleep(0.2)
    try:
        yield str(socket_path)
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture
def scanning(clamd: str, settings: Any) -> str:
    """Uploads are scanned by the real clamd, and must be (as in production)."""
    settings.CLAMD_SOCKET = clamd
    settings.CLAMD_ADDRESS = ""
    settings.DOCUMENT_SCAN_REQUIRED = True
    return clamd


@pytest.fixture
def redis_broker() -> str:
    from django.conf import settings

    require_infrastructure("Redis", bool(settings.REDIS_URL))
    return settings.REDIS_URL


@pytest.fixture
def celery_worker(redis_broker: str, eager_celery: object) -> object:
    """A real Celery worker consuming from the Redis broker, in a thread of this process."""
    from celery.contrib.testing.worker import start_worker

    eager_celery.conf.task_always_eager = False
    with start_worker(eager_celery, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def postgres() -> None:
    require_infrastructure("PostgreSQL", connections["default"].vendor == "postgresql")


def totp_code(secret: str, *, at: float | None = None, step_offset: int = 0) -> str:
    totp = TOTP(base64.b32decode(secret), step=30, t0=0, digits=6, drift=step_offset)
    if at is not None:
        totp.time = at
    return f"{totp.token():06d}"


@pytest.fixture
def practice(db: None) -> Practice:
    return Practice.objects.create(name="Lakeside Therapy", slug="lakeside")


@pytest.fixture
def other_practice(db: None) -> Practice:
    return Practice.objects.create(name="Hilltop Practice", slug="hilltop")


@pytest.fixture
def make_user(db: None, practice: Practice) -> Callable[..., User]:
    def make(
        role: str,
        *,
        email: str | None = None,
        practice_: Practice | None = None,
        mfa: bool = True,
        name: str | None = None,
    ) -> User:
        email = email or f"{role}-{secrets.token_hex(3)}@example.org"
        user = User.objects.create_user(
            email, PASSWORD, practice=practice_ or practice, full_name=name or f"Test {role.title()}"
        )
        RoleGrant.objects.create(user=user, role=role)
        if mfa:
            secret = base64.b32encode(secrets.token_bytes(20)).decode()
            device = TOTPDevice(user=user, name="app", confirmed=True, confirmed_at=timezone.now(), secret=secret)
            device.save()
            user.totp_secret = secret  # for tests only: the plain secret, as the person's app holds it
        return user

    return make


@pytest.fixture
def admin(make_user: Callable[..., User]) -> User:
    return make_user(Role.ADMIN, email="admin@example.org", name="Ada Admin")


@pytest.fixture
def therapist(make_user: Callable[..., User]) -> User:
    return make_user(Role.THERAPIST, email="therapist@example.org", name="Theo Therapist")


@pytest.fixture
def client_user(make_user: Callable[..., User]) -> User:
    return make_user(Role.CLIENT, email="client@example.org", name="Casey Client")


@pytest.fixture
def guardian(make_user: Callable[..., User], client_user: User) -> User:
    """A guardian of this minor: the client's chart is marked minor (a link alone counts for nothing)."""
    from records.models import ClientChart

    user = make_user(Role.GUARDIAN, email="guardian@example.org", name="Gale Guardian")
    ClientChart.objects.update_or_create(
        client=client_user, defaults={"practice_id": client_user.practice_id, "is_minor": True}
    )
    GuardianLink.objects.create(guardian=user, client=client_user)
    return user


@pytest.fixture
def stranger(make_user: Callable[..., User], other_practice: Practice) -> User:
    return make_user(Role.ADMIN, email="stranger@example.org", practice_=other_practice, name="Sid Stranger")


def verified_session(client: Client, user: User) -> Client:
    """A session that has passed password and second factor, as after a real sign-in."""
    client.force_login(user)
    session = client.session
    device = TOTPDevice.objects.get(user=user, confirmed=True)
    now = int(time.time())
    session[DEVICE_SESSION_KEY] = device.persistent_id
    session[AUTH_AT_KEY] = now
    session[LAST_SEEN_KEY] = now
    session[REAUTH_SESSION_KEY] = now
    session.save()
    from accounts.models import UserSession

    UserSession.objects.update_or_create(session_key=session.session_key, defaults={"user": user})
    return client


@pytest.fixture
def login_as() -> Callable[[User], Client]:
    def login(user: User) -> Client:
        return verified_session(Client(), user)

    return login


def password_only_session(user: User) -> Client:
    client = Client()
    response = client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 302, response.content[:500]
    return client


def totp_secret_of(page: str) -> str:
    """The authenticator key an enrolment page shows (in groups of four, for reading aloud)."""
    import re

    shown = re.search(r'id="totp-secret"[^>]*>(.*?)</code>', page, re.S).group(1)
    return re.sub(r"<[^>]+>|\s", "", shown)


def enrolling_session(user: User) -> Client:
    """A password-only session that opened the set-up link sent to the account's e-mail address,
    so it may enroll the first second factor (a password alone may not)."""
    from urllib.parse import urlsplit

    from accounts.services.enrollment import enrollment_link_create

    client = password_only_session(user)
    response = client.get(urlsplit(enrollment_link_create(user=user)).path)
    assert response.status_code == 302, response
    return client


@pytest.fixture
def consent_docs(practice: Practice) -> dict[str, object]:
    """The practice's default documents, published as version 1, by kind."""
    from consent.selectors import current_version
    from consent.services import consent_defaults_seed

    consent_defaults_seed(practice=practice)
    return {
        kind: current_version(practice_id=practice.pk, kind=kind)
        for kind in ("treatment", "telehealth", "couples_agreement", "guardian", "privacy")
    }


@pytest.fixture
def schedule(therapist: User) -> Callable[..., object]:
    from datetime import timedelta

    from sessions.services import appointment_schedule

    def make(
        *clients: User, kind: str = "individual", in_hours: float = 24, minutes: int = 50, by: User | None = None
    ) -> object:
        """A session ``in_hours`` from now; ``by`` another therapist (a therapist's own sessions
        may not overlap, so a second room at the same time needs a second therapist)."""
        from records.models import ClientChart

        host = by or therapist
        for client in clients:  # a therapist schedules only clients on their caseload
            chart, _ = ClientChart.objects.get_or_create(client=client, defaults={"practice_id": client.practice_id})
            chart.care_team.add(host)
        starts_at = timezone.now() + timedelta(hours=in_hours)
        return appointment_schedule(
            therapist=host, clients=list(clients), kind=kind, starts_at=starts_at, minutes=minutes
        )

    return make


def sign(signer: User, kind: str, *, for_: User | None = None) -> object:
    from consent.selectors import current_version
    from consent.services import consent_sign

    version = current_version(practice_id=signer.practice_id, kind=kind)
    signature, _created = consent_sign(
        signer=signer,
        version=version,
        on_behalf_of=for_ or signer,
        typed_name=signer.full_name,
        confirmed_read=True,
        context=None,
    )
    return signature


# Browser tests: one platform started with the README's run command, one Chromium, per session.


def sign_for_video(*clients: User) -> None:
    """The two consents every video session needs: treatment and telehealth technology."""
    for client in clients:
        sign(client, "treatment")
        sign(client, "telehealth")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> object:
    from tests.browser import embedded_server

    # Every browser test signs in from 127.0.0.1, and a sign-in that waits out a used code step
    # counts a failure against that address, which never forgets within a day: the address would
    # be locked part-way through the run. Lockouts are tested through the sign-in pages directly.
    with embedded_server(
        tmp_path_factory.mktemp("embedded"),
        SESSION_IDLE_TIMEOUT_SECONDS="40",
        SESSION_IDLE_WARNING_SECONDS="35",
        LOCKOUT_THRESHOLD="1000",
    ) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> object:
    from tests.browser import CHROMIUM_FLAGS, chromium_path

    path = chromium_path()
    require_infrastructure("Chromium", bool(path))
    from playwright.sync_api import sync_playwright

    from tests.browser import ROOT, WATCH

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        opened = launched.new_context

        def new_context(*args: object, **kwargs: object) -> object:
            context = opened(*args, **kwargs)
            WATCH.attach(context)
            return context

        launched.new_context = new_context  # type: ignore[method-assign]
        yield launched
        launched.new_context = opened  # type: ignore[method-assign]
        WATCH.draw(launched, ROOT / "test-artifacts" / "pages")
        launched.close()


@pytest.fixture(autouse=True)
def _accessible_pages(request: pytest.FixtureRequest) -> Iterator[None]:
    """A browser test fails on a serious or critical axe-core finding in any page it loaded."""
    if request.node.get_closest_marker("browser") is None:
        yield
        return
    from tests.browser import WATCH

    WATCH.found.clear()
    yield
    found, WATCH.found = dict(WATCH.found), {}
    assert not found, f"axe-core found serious problems: {found}"


@pytest.fixture
def page(browser: object) -> object:
    context = browser.new_context()
    page = context.new_page()
    page.console_problems = []
    page.on("console", lambda m: m.type in ("error", "warning") and page.console_problems.append(m.text))
    page.on("pageerror", lambda e: page.console_problems.append(str(e)))
    yield page
    context.close()


@pytest.fixture
def chart(client_user: User, therapist: User) -> object:
    from records.services import chart_create

    return chart_create(actor=None, client=client_user, therapists=[therapist])


@pytest.fixture
def colleague(make_user: Callable[..., User]) -> User:
    """A therapist of the same practice who is not on the client's care team."""
    return make_user(Role.THERAPIST, email="colleague@example.org", name="Cole Colleague")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Database tests may touch both stores: psychotherapy notes live in their own database."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and "databases" not in marker.kwargs:
            item.add_marker(pytest.mark.django_db(*marker.args, **marker.kwargs, databases="__all__"), append=False)


def check_in(user, appointment, location="US-NY"):
    from sessions.services import check_in_record

    return check_in_record(
        user=user,
        appointment=appointment,
        location=location,
        private_device=True,
        private_network=True,
        private_space=False,
        context=None,
    )


@pytest.fixture
def room(consent_docs, schedule, client_user, therapist):
    """A session starting in five minutes, consent signed, the client checked in from New York."""
    from sessions.services import licenses_set

    licenses_set(therapist=therapist, regions=["US-NY"], context=None)
    sign_for_video(client_user)
    appointment = schedule(client_user, in_hours=5 / 60)
    check_in(client_user, appointment)
    return appointment
