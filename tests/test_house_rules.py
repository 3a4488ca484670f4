"""The house rules the layout keeps: no module over 500 lines, no service or read that takes the
HTTP request (the edge hands them an AuditContext), and one error family without aliases."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MOST_LINES = 500
# The sign-in services keep the session, so they take the request (and the ruff ban lets them).
SIGN_IN = {
    "accounts/services/auth.py",
    "accounts/services/mfa.py",
    "accounts/services/passkeys.py",
    "accounts/services/notices.py",
    "accounts/services/enrollment.py",
}

pytestmark = pytest.mark.embedded


def product_files(*patterns: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", *patterns],
        cwd=ROOT, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    return [
        path
        for path in listed
        if (ROOT / path).exists() and not path.startswith(("tests/", "node_modules/")) and "/migrations/" not in path
    ]


def test_no_module_is_over_500_lines():
    long = {}
    for path in product_files("*.py", "*.js"):
        lines = len((ROOT / path).read_text().splitlines())
        if lines > MOST_LINES:
            long[path] = lines
    assert not long, f"Split these by job: {long}"


def is_service_or_read(path: str) -> bool:
    parts = path.split("/")
    return "services" in parts or parts[-1] in {"services.py", "selectors.py", "reads.py", "feed.py", "duties.py"}


def test_no_service_or_read_takes_the_request():
    taking = []
    for path in product_files("*.py"):
        if not is_service_or_read(path) or path in SIGN_IN:
            continue
        for node in ast.walk(ast.parse((ROOT / path).read_text())):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names = {a.arg for a in node.args.args + node.args.kwonlyargs + node.args.posonlyargs}
                if "request" in names:
                    taking.append(f"{path}:{node.lineno} {node.name}")
    assert not taking, f"Take `context: AuditContext` instead: {taking}"


def test_one_error_family_without_aliases():
    aliases = [
        f"{path}: {match.group(0)}"
        for path in product_files("*.py")
        for match in re.finditer(
            r"^\w+ = (?:ServiceError|NotVisible|NotAllowed|Conflict)\b", (ROOT / path).read_text(), re.M
        )
    ]
    assert not aliases, aliases
