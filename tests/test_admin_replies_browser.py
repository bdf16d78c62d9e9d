"""Teaching Kadam a phrase in a real headless Chromium: a state user opens "Replies not
understood" from the header, finds the Marathi reply three headmasters' messages share, teaches
it as "in progress", sees it taught and listed, and removes it again."""

from __future__ import annotations

import re

import pytest

from tests.admin_support import PASSWORD
from tests.admin_support import make_app as make_admin_app
from tests.browser import browser_page, live_server
from tests.replies_support import build_replies


@pytest.fixture
def app(db, tmp_path):
    app = make_admin_app(db, tmp_path / "media")
    yield app
    app.extensions["kadam.db"].dispose()


def test_a_state_user_teaches_a_grouped_reply_and_removes_it(app, db, tmp_path):
    build_replies(db, tmp_path / "media")
    dialogs: list[str] = []
    with live_server(app) as base, browser_page() as page:
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(f"{base}/admin/")
        page.get_by_label("Email").fill("state@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_role("heading", name="Campaigns").wait_for()

        page.get_by_role("link", name="Replies not understood").click()
        page.get_by_role("heading", name="Replies not understood").wait_for()
        group = page.locator("section.group").filter(
            has=page.locator("strong.words", has_text=re.compile(r"^zala nahi ajun$")))
        assert group.count() == 1
        assert group.locator(".count").inner_text().strip() == "3"
        assert "“Zala nahi ajun!”" in group.inner_text()
        # The form offers the group's language and its newest example as typed.
        assert group.get_by_label("Phrase").input_value() == "zala nahi ajun"
        assert group.get_by_label("Language").input_value() == "mr"

        group.get_by_label("Means").select_option(label="In progress")
        group.get_by_role("button", name="Teach Kadam").click()
        page.locator(".flash", has_text="Taught: in Marathi").wait_for()
        assert "taught: In progress" in group.inner_text()
        taught = page.locator("table.taught")
        assert "zala nahi ajun" in taught.inner_text()
        assert "state@example.org" in taught.inner_text()
        page.screenshot(path=str(tmp_path / "taught.png"), full_page=True)

        taught.get_by_role("button", name="Remove zala nahi ajun").click()
        page.locator(".flash", has_text="Removed “zala nahi ajun”").wait_for()
        assert page.get_by_text("No phrase has been taught yet").count() == 1
        assert "taught:" not in group.inner_text()
        assert group.get_by_role("button", name="Teach Kadam").count() == 1
        assert dialogs == []
