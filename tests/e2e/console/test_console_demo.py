"""The demo scenario in a real browser (Debian's Chromium through Playwright): a data steward registers a dataset
in the provider's console, a buyer discovers it (catalogue and the provider's catalog), negotiates it, watches the
negotiation finish live, pulls the data, sees the denial on the over-limit pull with its reason and the usage ledger,
and the federation operator reviews the admitted participant in the catalogue console.

Screenshots go to ``tests/artifacts/console/`` (git-ignored). Without ``/usr/bin/chromium`` the test skips, except
in CI (``CI`` set), where a missing browser is a failure.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.console.servers import Demo, demo_servers

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
#: Upper bound for one wait in the browser (a slow CI machine); never an assertion on speed.
WAIT_MS = 30_000

if not CHROMIUM.exists():
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing; CI must install Debian's chromium for the browser tests")
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)", allow_module_level=True)

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402 - only with a browser


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    with demo_servers(tmp_path_factory.mktemp("console-demo")) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1366, "height": 860}, accept_downloads=True)
    context.set_default_timeout(WAIT_MS)
    expect.set_options(timeout=WAIT_MS)
    tab = context.new_page()
    try:
        yield tab
    finally:
        context.close()


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def sign_in(page: Page, base: str, key: str, label: str = "Management API key") -> None:
    page.goto(base + "/console/")
    expect(page).to_have_url(re.compile(r"/console/login\?next="))
    page.get_by_label(label, exact=True).fill(key)
    page.get_by_role("button", name="Sign in").click()


def test_demo_scenario_in_the_consoles(page: Page, demo: Demo) -> None:
    # -- the data steward registers a dataset (file on the provider's machine; 1 use, for research) ----------------
    sign_in(page, demo.provider, demo.provider_key)
    expect(page.get_by_role("heading", name="Weather Data GmbH")).to_be_visible()
    shot(page, "01-provider-overview")
    page.get_by_role("link", name="Register a dataset").click()
    page.get_by_label("Title", exact=True).fill("Weather observations 2026")
    page.get_by_label("Description", exact=True).fill("Hourly temperatures of German stations")
    page.get_by_label("Keywords", exact=True).fill("weather, climate")
    page.get_by_label("A file on the connector's machine", exact=True).check()
    page.get_by_label("File path", exact=True).fill(str(demo.data_file))
    page.get_by_label("Only for some purposes", exact=True).check()
    page.get_by_label("Purposes", exact=True).fill("research")
    page.get_by_label("A limited number of uses", exact=True).check()
    page.get_by_label("Number of uses", exact=True).fill("1")
    preview = page.locator("#policy-preview")
    expect(preview).to_contain_text("Valid policy")
    expect(preview).to_contain_text("at most 1 use in total")
    expect(preview).to_contain_text("only for the purpose research")
    shot(page, "02-register-dataset")
    # Hand-written ODRL is checked as it is typed, with the place of the error.
    page.get_by_label("Write ODRL", exact=True).check()
    page.get_by_label("ODRL policy (JSON-LD)", exact=True).fill('{"@type": "Set", "permission": [')
    expect(preview).to_contain_text("Not valid yet")
    expect(preview).to_contain_text("line 1")
    page.get_by_label("Choose from templates", exact=True).check()
    expect(preview).to_contain_text("Valid policy")
    page.get_by_role("button", name="Register and offer").click()
    expect(page.get_by_role("status")).to_contain_text("registered and offered")
    expect(page.get_by_role("heading", name="Self-description")).to_be_visible()
    expect(page.locator("main")).to_contain_text("VirtualResource")
    shot(page, "03-dataset-with-self-description")

    # -- the buyer discovers: the federated catalogue, then the provider's own catalog -----------------------------
    sign_in(page, demo.consumer, demo.consumer_key)
    page.get_by_role("link", name="Discover").first.click()
    page.get_by_label("Catalogue", exact=True).fill(demo.catalogue)
    page.get_by_label("Keywords", exact=True).fill("weather")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("main")).to_contain_text("Example Data GmbH")
    expect(page.locator("main")).to_contain_text("Weather observations")
    shot(page, "04-discover-catalogue")
    page.goto(demo.consumer + "/console/discover")
    page.get_by_label("Connector address", exact=True).fill(demo.provider)
    page.get_by_role("button", name="Show its offers").click()
    offer = page.locator("article", has_text="Weather observations 2026")
    expect(offer).to_contain_text("at most 1 use in total")
    shot(page, "05-provider-offers")

    # -- negotiate, and watch it finish live (server-sent events update the page) ----------------------------------
    offer.get_by_role("button", name=re.compile("Negotiate")).click()
    expect(page.get_by_role("status")).to_contain_text("Negotiation requested")
    expect(page.locator("#negotiation-state")).to_have_text("FINALIZED")
    expect(page.locator("#live-indicator")).to_have_class(re.compile("on"))
    shot(page, "06-negotiation-finalized")

    # -- transfer (pull) and download ---------------------------------------------------------------------------------
    page.get_by_role("link", name="Transfer the data").click()
    page.get_by_role("button", name="Start transfer").click()
    expect(page.locator("#transfer-state")).to_have_text("STARTED")
    page.locator("#purpose").fill("research")
    with page.expect_download() as downloaded:
        page.get_by_role("button", name="Download the data").click()
    path = downloaded.value.path()
    assert path is not None
    assert Path(path).read_text(encoding="utf-8") == demo.data_file.read_text(encoding="utf-8")
    page.reload()
    expect(page.locator("#transfer-bytes")).not_to_have_text("0")
    shot(page, "07-transfer-started")

    # -- the second pull is over the limit: refused, with the provider's reason in words ---------------------------
    page.locator("#purpose").fill("research")
    page.get_by_role("button", name="Download the data").click()
    alert = page.get_by_role("alert").first
    expect(alert).to_contain_text("refused")
    shot(page, "08-over-limit-denied")

    # -- the usage ledger: verified, with the permit and the denial --------------------------------------------------
    page.get_by_role("link", name="Usage").first.click()
    expect(page.locator("main")).to_contain_text("Verified")
    expect(page.locator("main")).to_contain_text("receipt")
    shot(page, "09-consumer-usage")
    # Still signed in at the provider: each connector has its own session cookie, though both run on 127.0.0.1.
    page.goto(demo.provider + "/console/usage")
    expect(page.locator(".timeline .badge.bad").first).to_have_text("deny")
    expect(page.locator(".timeline .badge.ok").first).to_have_text("permit")
    shot(page, "10-provider-usage")

    # -- the federation operator reviews the participant -------------------------------------------------------------
    page.goto(demo.catalogue + "/console/?q=weather")
    expect(page.locator("main")).to_contain_text("Weather observations")
    shot(page, "11-catalogue-search")
    page.get_by_role("link", name="Operator sign-in").click()
    page.get_by_label("Operator API key", exact=True).fill(demo.catalogue_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Participants")).to_be_visible()
    page.get_by_role("link", name="Example Data GmbH").click()
    expect(page.get_by_role("heading", name="Compliance report")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Trust anchors")
    shot(page, "12-operator-compliance-report")


def test_keyboard_only_sign_in(page: Page, demo: Demo) -> None:
    """The sign-in form works with the keyboard alone (focus starts in the key field)."""
    page.goto(demo.consumer + "/console/")
    # Autofocus is applied once the form is rendered: wait for it (that is the claim under test), then type.
    expect(page.get_by_label("Management API key", exact=True)).to_be_focused()
    page.keyboard.type(demo.consumer_key)
    page.keyboard.press("Enter")
    expect(page.get_by_role("navigation", name="Console sections")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
