"""Helpers for end-to-end tests: the embedded platform served by daphne, and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# A phone of the common size, held and tapped (the browser tests' second size beside 1280 x 800).
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def chromium_path() -> str | None:
    return os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    seed_output: str
    data_dir: Path


def embedded_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "MIGRATION_DATABASE_URL", "REDIS_URL", "DJANGO_ENV", "DJANGO_SETTINGS_MODULE"}
    }
    env.update({"DATA_DIR": str(data_dir), **extra})
    return env


def wait_healthy(url: str, process: subprocess.Popen, *, seconds: float = 60, log_path: Path | None = None) -> None:
    """Wait until the server at ``url`` answers its health check; fail with its log if it dies."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310 - loopback
                if response.status == 200:
                    return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text() if log_path else f"{url} did not start") from None
            time.sleep(0.2)


@contextmanager
def embedded_server(data_dir: Path, **extra_env: str) -> Iterator[Server]:
    """Start the platform with the README's run command (scripts/run.sh) on a free port."""
    port = free_port()
    url = f"http://localhost:{port}"  # a host name: passkeys refuse an IP address as the site's ID
    env = embedded_env(data_dir, PORT=str(port), SITE_URL=url, **extra_env)
    log_path = data_dir / "run.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(url, process, seconds=600, log_path=log_path)
        deadline = time.monotonic() + 30  # the logins follow the server's first answer
        while "Ctrl-C to stop" not in log_path.read_text(errors="replace"):
            assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
            time.sleep(0.1)
        yield Server(url=url, seed_output=log_path.read_text(), data_dir=data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


DEMO_PASSWORD = "Riverside-demo-2026"  # the demo practice's published password


def sign_in(page: object, server: Server, email: str) -> None:
    page.goto(f"{server.url}/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="Continue").click()


def demo_accounts(server: Server) -> str:
    """What the demo wrote of its accounts: each one's authenticator key and, for a new one, its
    set-up link (the run command's terminal points to this file)."""
    return (server.data_dir / "demo-accounts.txt").read_text()


def server_logs(server: Server) -> str:
    """Everything the run command's processes wrote: the terminal, and the logs under data/."""
    return "\n".join(
        (server.data_dir / name).read_text(errors="replace")
        for name in ("run.log", "access.log", "worker.log", "beat.log")
        if (server.data_dir / name).is_file()
    )


def printed_secret(server: Server, email: str) -> str:
    """The TOTP secret the demo gave an account, as someone would add it to an app."""
    import re

    local, domain = email.split("@")
    return re.search(rf"{re.escape(local)}%40{re.escape(domain)}\?secret=([A-Z2-7]+)", demo_accounts(server)).group(1)


def printed_link(server: Server, email: str) -> str:
    """The set-up link the demo made for a new account (standing for its e-mail)."""
    import re

    return re.search(rf"{re.escape(email)}[^\n]*\n\s+set-up link: (\S+)", demo_accounts(server)).group(1)


def enrollment_page(page: object, server: Server, email: str) -> None:
    """From the account's set-up link (through the password, unless this browser already gave
    it) to the enrolment page."""
    page.goto(printed_link(server, email))
    if "/login/" in page.url:
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_PASSWORD)
        page.get_by_role("button", name="Continue").click()
    page.get_by_role("heading", name="Set up two-step sign-in").wait_for()


def open_app_option(page: object) -> None:
    """The authenticator app is the second choice on the enrolment page: open it."""
    option = page.locator("#app-option")
    if option.get_attribute("open") is None:
        option.locator("summary").first.click()


def confirm_codes_saved(page: object) -> list[str]:
    codes = page.locator("#backup-codes code").all_text_contents()
    page.get_by_label("I have saved my backup codes").check()
    page.get_by_role("button", name="Continue").click()
    return codes


def enroll_app(page: object, server: Server, email: str) -> list[str]:
    """On the enrolment page: the authenticator app, with a code from the printed secret."""
    from tests.conftest import totp_code

    open_app_option(page)
    page.get_by_label("Code from your app").fill(totp_code(printed_secret(server, email)))
    page.get_by_role("button", name="Confirm and continue").click()
    return confirm_codes_saved(page)


def first_sign_in(page: object, server: Server, email: str) -> list[str]:
    """The set-up link and the password, then enroll the authenticator with a code computed
    from the printed secret."""
    enrollment_page(page, server, email)
    return enroll_app(page, server, email)


def sign_in_again(page: object, server: Server, email: str) -> None:
    """Sign in an account that may already have enrolled: then a code from the next time step,
    since the current one may have been used (codes are single-use)."""
    sign_in(page, server, email)
    page.wait_for_url("**/mfa/**")
    if "/mfa/enroll/" in page.url:
        page.goto(printed_link(server, email))  # the session knows the password; the link proves the e-mail
        enroll_app(page, server, email)
        return
    second_step(page, server, email)


def second_step(page: object, server: Server, email: str) -> None:
    """On the second-factor page: a code from the next time step, waiting for a later one when
    another test used that one moments ago."""
    import time

    from tests.conftest import totp_code

    said = []
    for _attempt in range(4):
        page.get_by_label("Code").fill(totp_code(printed_secret(server, email), at=time.time() + 30))
        with page.expect_navigation():
            page.get_by_role("button", name="Verify").click()
        if "/mfa/" not in page.url:
            return
        said.append(page.locator("main").inner_text()[:300])
        # Another test used that step's code moments ago (codes are single-use): wait for the next.
        time.sleep(30 - time.time() % 30 + 1)
    raise AssertionError(f"could not complete the second step for {email}: {said}")


# Browser tests share one server for the session, so each demo account belongs to the tests
# that need it in a known state: therapist@ to the first-enrollment test (the demo leaves it
# unenrolled), alex@ to the form-error test (never enrolls), casey@ to the forgotten-password
# test (its password changes). Every other test signs in with sign_in_again, which works whether
# or not the account has enrolled yet (the demo enrols the others).


def sign_needed(page: object, name: str, titles: list[str]) -> None:
    """On the page with every consent still needed: each document there, one typed name, sign."""
    page.wait_for_url("**/consent/sign/")  # type: ignore[attr-defined]
    for title in titles:
        assert page.get_by_role("heading", name=title).is_visible(), title  # type: ignore[attr-defined]
    page.get_by_label("Type your full name to sign").fill(name)  # type: ignore[attr-defined]
    page.get_by_label("I have read these documents and I understand them.").check()  # type: ignore[attr-defined]
    page.get_by_role("button", name=f"Sign all {len(titles)}").click()  # type: ignore[attr-defined]


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package.json, installed by the test command


def serious_violations(page: object) -> list[str]:
    """What axe-core finds of serious or critical impact on the page as it is now. The script
    goes in through the browser's own evaluation (as the DevTools console would), so the page's
    Content-Security-Policy stays in force for everything the page itself does."""
    from tests.conftest import require_infrastructure

    require_infrastructure("axe-core (npm ci)", AXE.is_file())
    if not page.evaluate("() => typeof window.axe === 'object'"):  # type: ignore[attr-defined]
        page.evaluate(AXE.read_text(encoding="utf-8"))  # type: ignore[attr-defined]
    # One run at a time in a page (axe refuses a second): each waits for the one before.
    found = page.evaluate(  # type: ignore[attr-defined]
        """async () => {
            const mine = (window.__axeTurn || Promise.resolve())
                .catch(() => null)
                .then(() => axe.run(document, { resultTypes: ['violations'] }));
            window.__axeTurn = mine;
            return (await mine).violations;
        }"""
    )
    return [
        f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
        for v in found
        if v.get("impact") in ("serious", "critical")
    ]


def route_shape(url: str) -> str:
    """A page's address with its identifiers folded: one name for every chart, every session."""
    import re
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    path = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "id", path)
    path = re.sub(r"/\d+(?=/|$)", "/n", path)
    path = re.sub(r"/[A-Za-z0-9_-]{20,}(?=/|$)", "/token", path)
    return path.strip("/").replace("/", "-") or "home"


class AccessibilityWatch:
    """Every page a browser test opens is checked with axe-core each time it loads, whatever the
    test does with it; a test fails on a serious or critical finding in any page state it
    visited (the conftest's browser fixture attaches it, an autouse fixture asserts). The first
    time each page (by its address, identifiers folded) loads, its document is kept, and at the
    end of the run each is drawn at desktop and phone sizes into test-artifacts/pages/."""

    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}
        self.seen: dict[str, tuple[str, str]] = {}

    def attach(self, context: object) -> None:
        context.on("page", self._watch)  # type: ignore[attr-defined]

    def _watch(self, page: object) -> None:
        page.on("load", lambda loaded: self._check(loaded))  # type: ignore[attr-defined]

    def _check(self, page: object) -> None:
        url = page.url  # type: ignore[attr-defined]
        if not url.startswith("http"):
            return
        try:
            problems = serious_violations(page)
        except Exception:  # it moved on (navigated, closed) while being checked
            return
        if problems:
            self.found[url.split("?")[0]] = problems
        shape = route_shape(url)
        if shape not in self.seen:
            try:
                self.seen[shape] = (url, page.content())  # type: ignore[attr-defined]
            except Exception:  # it moved on meanwhile
                return

    def draw(self, browser: object, folder: Path) -> int:
        """Each page kept, as it was when it loaded, at both sizes: its scripts taken out (the
        state they had drawn stays), its style sheets written in from the source tree."""
        import re

        def inlined(match: re.Match[str]) -> str:
            sheet = ROOT / match.group(1).lstrip("/")
            return f"<style>{sheet.read_text()}</style>" if sheet.is_file() else ""

        folder.mkdir(parents=True, exist_ok=True)
        for size, viewport in (("desktop", {"width": 1280, "height": 800}), ("phone", {"width": 390, "height": 844})):
            context = browser.new_context(viewport=viewport, java_script_enabled=False)  # type: ignore[attr-defined]
            page = context.new_page()
            page.route("**/*", lambda route: route.abort())  # nothing fetched: the server may be gone
            for shape, (_url, html) in sorted(self.seen.items()):
                html = re.sub(r"<script\b.*?</script>", "", html, flags=re.S)
                html = re.sub(r'<link rel="stylesheet" href="([^"]+)">', inlined, html)
                page.set_content(html, wait_until="domcontentloaded")
                page.screenshot(path=str(folder / f"{shape}-{size}.jpg"), full_page=True, type="jpeg", quality=70)
            context.close()
        return len(self.seen)


WATCH = AccessibilityWatch()


def until(page, predicate: str, seconds: float = 10) -> None:
    """Poll a condition in the page (wait_for_function would need eval, which the CSP refuses)."""
    for _ in range(int(seconds * 10)):
        if page.evaluate(predicate):
            return
        page.wait_for_timeout(100)
    raise AssertionError(predicate)


# Taps, as a person on a phone makes them: each press (a tap or a click) and each text field
# entered without one (a test fills fields directly; a person taps into each). Kept in the tab's
# session storage, so the count runs across the pages of a walk.
TAP_COUNTER = """
(() => {
  const add = () => sessionStorage.setItem("__taps", String(Number(sessionStorage.getItem("__taps") || 0) + 1));
  let pressed = null;
  addEventListener("pointerdown", (event) => { pressed = event.target; add(); }, true);
  addEventListener("focusin", (event) => {
    const field = event.target;
    if (field.matches?.("input:not([type=checkbox]):not([type=radio]):not([type=hidden]), textarea, select")
        && !(pressed && (pressed === field || field.contains(pressed) || pressed.control === field))) add();
    pressed = null;
  }, true);
})();
"""


def virtual_authenticator(context: object, page: object, *, synced: bool = False) -> tuple[object, str]:
    """A platform authenticator in Chromium (DevTools' WebAuthn), verifying the person as a
    phone's fingerprint would; ``synced``: backed up to the person's other devices, as Apple's,
    Google's and password managers' passkeys are."""
    cdp = context.new_cdp_session(page)  # type: ignore[attr-defined]
    cdp.send("WebAuthn.enable")
    options = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    if synced:
        options.update({"defaultBackupEligibility": True, "defaultBackupState": True})
    found = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": options})
    return cdp, found["authenticatorId"]


def taps_counted(context: object) -> None:
    context.add_init_script(TAP_COUNTER)  # type: ignore[attr-defined]


def taps(page: object) -> int:
    return int(page.evaluate("() => Number(sessionStorage.getItem('__taps') || 0)"))  # type: ignore[attr-defined]
