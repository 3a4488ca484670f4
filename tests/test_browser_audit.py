"""In Chromium: a practice admin filters the audit log by client and exports it as CSV."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from tests.browser import sign_in_again

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def test_an_admin_filters_by_client_and_exports_csv(server, browser):
    ARTIFACTS.mkdir(exist_ok=True)
    # Someone opens Jordan's chart first, so there is something to find.
    therapist = browser.new_context()
    page = therapist.new_page()
    sign_in_again(page, server, "therapist2@riverside.example")
    page.goto(f"{server.url}/records/charts/")
    page.get_by_role("link", name="Jordan Lee").click()
    therapist.close()

    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    sign_in_again(page, server, "admin@riverside.example")
    page.goto(f"{server.url}/audit/console/")
    page.get_by_label("Whose record").select_option(label="Jordan Lee")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#events tbody tr")
    assert rows.count() >= 1
    assert all("Jordan Lee" in text for text in rows.all_text_contents())
    # Events read as sentences, the raw codes one click away.
    assert "opened Jordan Lee's chart" in page.locator("#events").text_content()
    first = rows.first.locator("details")
    assert not first.locator("code").is_visible()
    first.locator("summary").click()
    assert first.locator("code").is_visible()
    page.screenshot(path=str(ARTIFACTS / "audit-console.png"), full_page=True)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    path = download_info.value.path()
    rows_csv = list(csv.DictReader(io.StringIO(Path(path).read_text())))
    assert rows_csv and len({r["subject_client_id"] for r in rows_csv}) == 1
    assert {r["subject_client_name"] for r in rows_csv} == {"Jordan Lee"} and any(r["actor_name"] for r in rows_csv)
    assert "records.chart_view" in {r["action"] for r in rows_csv}
    context.close()
