"""The dashboard in a real headless Chromium: what a state user and a block user actually do.

A state user signs in, finds the district that is behind, drills down to its silent schools,
exports them to Excel and reads the file back, opens a photo, and reads a story that tries to
run a script (it must show as text, and no dialog may open). A block user cannot reach another
block by typing its URL.
"""

from __future__ import annotations

import openpyxl
import pytest

from tests.admin_support import NOW, PASSWORD, SCRIPT_STORY, build_world, make_app, make_user
from tests.browser import browser_page, live_server


@pytest.fixture
def app(db, tmp_path):
    app = make_app(db, tmp_path / "media", ADMIN_NOW=NOW)  # the world's now
    yield app
    app.extensions["kadam.db"].dispose()


def sign_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/admin/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Campaigns").wait_for()


def test_state_user_finds_the_district_behind_and_exports_its_silent_schools(app, db, tmp_path):
    world = build_world(db, tmp_path / "media")
    make_user(db, "state@example.org")
    dialogs: list[str] = []
    with live_server(app) as base, browser_page() as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        sign_in(page, base, "state@example.org")
        page.get_by_role("link", name="Retell the Tale, 2026").click()

        # Pune is behind: Mulshi has not started at all and nothing in Pune is complete. The
        # marker follows the bar: Pune's is the shorter one, under half of Satara's.
        behind = page.locator("table.chart tr.behind")
        assert behind.count() == 1
        assert "Pune" in behind.inner_text()
        widths = {name: sum(box["width"] for box in (
            span.bounding_box() for span in page.locator(f"table.chart tr:has-text('{name}') "
                                                         ".bar span").all()) if box)
                  for name in ("Pune", "Satara")}
        assert widths["Pune"] < 0.5 * widths["Satara"], widths
        assert page.get_by_text("when its bar is shorter than").is_visible()
        page.screenshot(path=str(tmp_path / "campaign.png"), full_page=True)
        behind.get_by_role("link", name="Pune").click()
        page.locator("table.chart tr.behind").get_by_role("link", name="Mulshi").click()
        page.get_by_role("link", name="Only silent schools").click()
        expected = [code for code in world.codes_in("Pune", "Mulshi") if code in world.silent_codes]
        assert expected == ["PUMU0", "PUMU1", "PUMU2"]  # nobody in Mulshi answered
        for code in expected:
            assert page.get_by_text(code, exact=False).count() >= 1

        # The export counts silence from the real clock, not ADMIN_NOW: later than the world's
        # NOW, when the same schools are silent (the others were heard from or finished).
        with page.expect_download() as download:
            page.locator("a[href*='projects.xlsx']").first.click()
        path = tmp_path / "silent.xlsx"
        download.value.save_as(path)
        # Closed at once: a read-only workbook left open warns later, in some other test.
        workbook = openpyxl.load_workbook(path, read_only=True)
        rows = list(workbook.active.iter_rows(values_only=True))
        workbook.close()
        codes = sorted(row[rows[0].index("school_code")] for row in rows[1:])
        assert codes == sorted(expected)

        # A photo opens, and is a real image.
        page.get_by_role("link", name="Evidence").first.click()
        page.locator(".gallery img").first.wait_for()
        page.locator(".gallery a:has(img)").first.click()
        assert page.evaluate("document.images[0].naturalWidth") >= 1

        # Down to one school and its project, whose story tries to run a script: it shows
        # as text.
        page.go_back()  # from the photo to the gallery
        page.get_by_role("link", name="Campaigns").first.click()
        page.get_by_role("link", name="Retell the Tale, 2026").click()
        page.locator("table.chart").get_by_role("link", name="Satara").click()
        page.locator("table.chart").get_by_role("link", name="Wai").click()
        page.get_by_role("link", name="ZP School Wai 1").click()
        page.get_by_role("heading", name="ZP School Wai 1").wait_for()
        page.locator("main table").get_by_role("link", name="Retell the Tale").last.click()
        assert page.url.endswith(f"/admin/projects/{world.script_project_id}")
        assert page.get_by_text(SCRIPT_STORY).count() >= 1
        assert dialogs == []
        page.screenshot(path=str(tmp_path / "project.png"), full_page=True)


def test_block_user_cannot_see_another_block_by_any_url(app, db, tmp_path):
    world = build_world(db, tmp_path / "media")
    make_user(db, "wai@example.org", "block", "Wai")
    campaign = world.campaign_id
    koregaon_code = world.codes_in("Satara", "Koregaon")[0]
    koregaon_project = world.schools[koregaon_code][2]
    with live_server(app) as base, browser_page() as page:
        sign_in(page, base, "wai@example.org")
        page.get_by_role("link", name="Retell the Tale, 2026").click()
        assert "Koregaon" not in page.locator("main").inner_text()
        for path in (f"/admin/campaigns/{campaign}/districts/Satara/blocks/Koregaon",
                     f"/admin/campaigns/{campaign}/districts/Pune",
                     f"/admin/schools/{koregaon_code}",
                     f"/admin/projects/{koregaon_project}"):
            response = page.goto(base + path)
            assert response is not None and response.status == 404, path
            assert koregaon_code not in page.content()
