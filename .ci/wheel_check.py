"""A regular install, the way a server or a container installs Kadam: run from a folder outside
the source tree, in a virtual environment that has only the wheel.

`kadam demo --no-server` loads the demo from the package's own data (roster, templates,
catalogs, phrase files); then, signed in as the demo's state user, a Hindi headmaster writes
in the simulator and must be answered in Hindi, and a negated reply must not mark a task done.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from bot import create_app
from bot.cli.demo import DEMO_USER

DEVANAGARI = re.compile(r"[\u0900-\u097F]")
PHONE = "+919822012347"  # Anita Shinde, a Hindi-speaking headmaster in the demo roster


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def main() -> int:
    import bot

    source = Path(bot.__file__).resolve()
    if "site-packages" not in str(source):
        print(f"not a regular install: bot is at {source}")
        return 1
    # As `kadam demo` serves it: the simulator on, behind the demo's dashboard sign-in.
    app = create_app({"simulator": True})
    client = app.test_client()
    login = client.get("/admin/login").get_data(as_text=True)
    signed_in = client.post("/admin/login", data={
        "email": DEMO_USER[0], "password": DEMO_USER[1], "csrf_token": csrf_of(login)})
    assert signed_in.status_code == 302, signed_in.status_code
    page = client.get(f"/simulator/?phone={PHONE}")
    assert page.status_code == 200, page.status_code
    client.post("/simulator/send", data={"phone": PHONE, "text": "नही हुआ अभी",
                                         "csrf_token": csrf_of(page.get_data(as_text=True))})
    html = client.get(f"/simulator/?phone={PHONE}").get_data(as_text=True)
    last = html.rsplit("नही हुआ अभी", 1)[-1]
    if not DEVANAGARI.search(last):
        print("the reply to a Hindi headmaster is not in Hindi:\n" + last[:2000])
        return 1
    if "चल रहा है" not in last and "जारी" not in last:
        print("a negated reply was not recorded as in progress:\n" + last[:2000])
        return 1
    print("regular install: demo loaded, a Hindi headmaster answered in Hindi")
    return 0


if __name__ == "__main__":
    sys.exit(main())
