"""Browser tests: the real app under uvicorn, Debian's chromium driven by Playwright.

Fixtures (registered in tests/conftest.py, so every test module can ask for them):

- ``web_server`` (module scope): the app over a fresh SQLite database on an ephemeral port;
  a module sets ``WEB_SETTINGS = {...}`` to change settings (e.g. ``login_max_failures``).
  ``web_server.url``, ``.runtime``, ``.now`` (None: the real clock; set a datetime to fix
  it), ``.user(login, *roles, customer=None, name=None)`` creates a user and returns its
  password.
- ``browser`` (session scope): chromium from /usr/bin/chromium, headless; outside CI a
  missing chromium skips with the reason, in CI (``CI`` set) it fails.
- ``web_page``: a fresh browser context and page (Accept-Language en unless the test's
  module sets ``WEB_LOCALE``), closed after the test.

Helpers: ``sign_in(page, server, login, password)``, ``screenshot(page, request)`` (writes
test-artifacts/screenshots/<test>.png), ``assert_accessible(page)`` (axe-core: no serious or
critical violations).
"""

from __future__ import annotations

import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from core.runtime import Runtime, build_runtime
from core.settings import Settings
from core.store.users import create_user

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CASETRACK_CHROMIUM", "/usr/bin/chromium")
AXE = Path(__file__).resolve().parent / "data" / "axe" / "axe.min.js"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
BAD_IMPACTS = ("serious", "critical")


@dataclass
class WebServer:
    """The app served by uvicorn in a thread, over its own database."""

    url: str
    runtime: Runtime
    now: datetime | None = None  # None: the real clock
    passwords: dict[str, str] = field(default_factory=dict)

    def clock(self) -> datetime:
        return self.now or datetime.now(UTC)

    def user(
        self,
        login: str,
        *roles: str,
        customer: str | None = None,
        name: str | None = None,
        password: str | None = None,
    ) -> str:
        """Create a user; returns the password (also kept in ``passwords[login]``)."""
        password = password or secrets.token_urlsafe(12)
        with self.runtime.sessions.begin() as session:
            create_user(
                session,
                login=login,
                display_name=name or login,
                password=password,
                roles=roles,
                customer_id=customer,
                now=self.clock(),
            )
        self.passwords[login] = password
        return password


@pytest.fixture(scope="module")
def web_server(
    request: pytest.FixtureRequest, db_templates: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WebServer]:
    import uvicorn

    from server import create_app

    overrides = getattr(request.module, "WEB_SETTINGS", {})
    settings = Settings(
        database_url=db_templates.sqlite(),
        contracts_dir=str(ROOT / "contracts"),
        var_dir=str(tmp_path_factory.mktemp("web-var")),
        **overrides,
    )
    holder = WebServer.__new__(WebServer)
    holder.now = None
    runtime = build_runtime(settings, clock=lambda: holder.clock())
    app = create_app(settings, runtime=runtime)
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="web-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the web server did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    holder.__init__(f"http://127.0.0.1:{port}", runtime)  # type: ignore[misc]
    yield holder
    server.should_exit = True
    thread.join(timeout=10)


def _chromium_missing() -> str | None:
    if not Path(CHROMIUM).is_file():
        return f"chromium not found at {CHROMIUM} (apt-get install chromium; scripts/browser.sh)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -r requirements.lock)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    reason = _chromium_missing()
    if reason is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests need chromium in CI: {reason}")
        pytest.skip(f"browser tests skipped outside CI: {reason}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox"]
        )
        yield launched
        launched.close()


@pytest.fixture
def web_page(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Page]:
    locale = getattr(request.module, "WEB_LOCALE", "en-US")
    context = browser.new_context(locale=locale, viewport={"width": 1100, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def sign_in(page: Page, server: WebServer, login: str, password: str | None = None) -> None:
    """Sign in through the form, as a person would; the page ends on the console."""
    page.goto(f"{server.url}/login")
    page.fill("#login", login)
    page.fill("#password", password or server.passwords[login])
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_load_state()


def screenshot(page: Page, request: pytest.FixtureRequest, suffix: str = "") -> Path:
    """A full-page PNG at test-artifacts/screenshots/<test>[-suffix].png."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + (f"-{suffix}" if suffix else "")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's WCAG 2 A/AA violations of the page as it is now."""
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    result: dict[str, Any] = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return list(result["violations"])


def assert_accessible(page: Page) -> None:
    """No serious or critical axe-core violation (labels, contrast, names, landmarks...)."""
    bad = [v for v in axe_violations(page) if v.get("impact") in BAD_IMPACTS]
    assert not bad, "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:5])
        for v in bad
    )
