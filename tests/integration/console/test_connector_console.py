"""The connector console over real HTTP (no browser): sign-in, session cookie, CSRF, registration, live events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.integration.connector.harness import Running, dataspace_pki, make_participant, running
from tests.integration.console.console_client import hidden, sign_in

pytestmark = pytest.mark.integration


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[Running]:
    state = make_participant(tmp_path, "provider", dataspace_pki())
    async with running(state) as started:
        yield started


def key_of(p: Running) -> str:
    assert p.settings.management_api_key is not None
    return p.settings.management_api_key.get_secret_value()


@pytest.fixture
async def browser(provider: Running) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=provider.base, timeout=30) as client:
        yield client


async def test_every_page_asks_to_sign_in_first(browser: httpx.AsyncClient) -> None:
    for path in ("/console/", "/console/datasets", "/console/negotiations", "/console/usage", "/console/events"):
        answer = await browser.get(path)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/console/login?next=/console/")


async def test_sign_in_sets_a_strict_http_only_session_cookie(browser: httpx.AsyncClient, provider: Running) -> None:
    page = await browser.get("/console/login")
    assert 'type="password"' in page.text
    token = hidden(page.text, "login_token")
    wrong = await browser.post("/console/login", data={"login_token": token, "api_key": "guess", "next": "/console/"})
    assert wrong.status_code == 401
    assert "not this connector&#39;s key" in wrong.text or "not this connector's key" in wrong.text
    page = await browser.get("/console/login")
    right = await browser.post(
        "/console/login",
        data={"login_token": hidden(page.text, "login_token"), "api_key": key_of(provider), "next": "/console/usage"},
    )
    assert right.status_code == 303
    assert right.headers["location"] == "/console/usage"
    cookie = next(v for v in right.headers.get_list("set-cookie") if v.startswith("gxc_console_") and "_login" not in v)
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", "path=/console"} <= flags
    assert (await browser.get("/console/")).status_code == 200


async def test_sign_in_form_refuses_a_post_without_its_token(browser: httpx.AsyncClient, provider: Running) -> None:
    answer = await browser.post("/console/login", data={"api_key": key_of(provider)})
    assert answer.status_code == 403
    assert not [c for c in answer.headers.get_list("set-cookie") if c.startswith("gxc_console_") and "_login=" not in c]


async def test_open_redirect_after_sign_in_is_refused(browser: httpx.AsyncClient, provider: Running) -> None:
    page = await browser.get("/console/login")
    answer = await browser.post(
        "/console/login",
        data={"login_token": hidden(page.text, "login_token"), "api_key": key_of(provider), "next": "//evil.example/"},
    )
    assert answer.headers["location"] == "/console/"


async def test_form_posts_need_the_csrf_token_and_our_origin(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    form = {"title": "Weather", "source": "url", "source_url": "https://example.com/w.csv", "policy_mode": "template"}
    assert (await browser.post("/console/datasets", data=form)).status_code == 403
    assert (await browser.post("/console/datasets", data={**form, "csrf_token": "forged"})).status_code == 403
    other = await browser.post(
        "/console/datasets", data={**form, "csrf_token": csrf}, headers={"Origin": "https://evil.example"}
    )
    assert other.status_code == 403
    assert (await provider.api.get("/assets")).json()["items"] == []
    ok = await browser.post("/console/datasets", data={**form, "csrf_token": csrf}, headers={"Origin": provider.base})
    assert ok.status_code == 303


async def test_register_a_dataset_from_the_form(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    answer = await browser.post(
        "/console/datasets",
        data={
            "csrf_token": csrf,
            "title": "Weather observations 2026",
            "description": "Hourly observations",
            "keywords": "weather, climate",
            "source": "url",
            "source_url": "https://backend.example.com/weather.csv",
            "policy_mode": "template",
            "t_purpose": "on",
            "purposes": "research",
            "t_uses": "on",
            "uses": "3",
            "visible": "everyone",
        },
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/console/datasets/weather-observations-2026?notice=registered"
    asset = (await provider.api.get("/assets/weather-observations-2026")).json()
    assert asset["keywords"] == ["weather", "climate"]
    assert asset["dataAddress"]["baseUrl"] == "https://backend.example.com/weather.csv"
    definition = (await provider.api.get("/contract-definitions/weather-observations-2026-offer")).json()
    assert definition["assetIds"] == ["weather-observations-2026"]
    policy = (await provider.api.get(f"/policies/{definition['contractPolicyId']}")).json()["policy"]
    operands = {c["leftOperand"] for c in policy["permission"][0]["constraint"]}
    assert operands == {"purpose", "count"}
    page = await browser.get(answer.headers["location"])
    assert "The dataset is registered and offered." in page.text
    assert "at most 3 uses in total" in page.text
    assert "only for the purpose research" in page.text
    assert "VirtualResource" in page.text  # the generated self-description
    again = await browser.post(
        "/console/datasets",
        data={
            "csrf_token": csrf,
            "title": "Weather observations 2026",
            "source": "url",
            "source_url": "https://backend.example.com/x",
            "policy_mode": "template",
        },
    )
    assert again.status_code == 409
    assert "exists already" in again.text


async def test_registration_errors_are_shown_with_the_form(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    answer = await browser.post(
        "/console/datasets",
        data={
            "csrf_token": csrf,
            "title": "",
            "source": "url",
            "source_url": "ftp://x",
            "policy_mode": "template",
            "t_uses": "on",
            "uses": "0",
        },
    )
    assert answer.status_code == 400
    for text in ("Title:", "Source URL:", "Number of uses"):
        assert text in answer.text
    assert (await provider.api.get("/assets")).json()["items"] == []


async def test_upload_a_file_as_the_source(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    answer = await browser.post(
        "/console/datasets",
        data={"csrf_token": csrf, "title": "Uploaded", "source": "upload", "policy_mode": "template"},
        files={"upload": ("data.csv", b"a,b\n1,2\n", "text/csv")},
    )
    assert answer.status_code == 303, answer.text
    asset = (await provider.api.get("/assets/uploaded")).json()
    path = Path(asset["dataAddress"]["path"])
    assert path.read_bytes() == b"a,b\n1,2\n"  # noqa: ASYNC240 - a test reads one small file
    assert path.is_relative_to(provider.settings.state_dir)
    assert asset["contentType"] == "text/csv"


async def test_policy_preview_checks_as_you_type(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    headers = {"X-CSRF-Token": csrf}
    broken = await browser.post(
        "/console/datasets/policy-preview", data={"policy_mode": "odrl", "odrl": '{"@type": '}, headers=headers
    )
    assert broken.json()["ok"] is False
    assert broken.json()["errors"][0].startswith("line 1, column")
    wrong = await browser.post(
        "/console/datasets/policy-preview",
        data={
            "policy_mode": "odrl",
            "odrl": '{"@context": "http://www.w3.org/ns/odrl.jsonld", "@type": "Set", '
            '"uid": "urn:p", "permission": [{"action": "use", "constraint": [{"leftOperand": "purpose", '
            '"operator": "sameAs", "rightOperand": "x"}]}]}',
        },
        headers=headers,
    )
    assert wrong.json()["ok"] is False
    assert "sameAs" in " ".join(wrong.json()["errors"])
    good = await browser.post(
        "/console/datasets/policy-preview",
        data={"policy_mode": "template", "t_membership": "on", "membership_dataspace": "urn:dataspace:demo"},
        headers=headers,
    )
    assert good.json() == {
        "ok": True,
        "words": ["May use the data: only for verified members of urn:dataspace:demo."],
        "jsonld": good.json()["jsonld"],
    }
    assert (await browser.post("/console/datasets/policy-preview", data={"policy_mode": "odrl"})).status_code == 403


async def test_events_stream_needs_a_session(browser: httpx.AsyncClient, provider: Running) -> None:
    await sign_in(browser, key_of(provider))
    async with browser.stream("GET", "/console/events") as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        first = await anext(stream.aiter_text())
        assert ": connected" in first


async def test_pages_carry_a_strict_content_security_policy(browser: httpx.AsyncClient, provider: Running) -> None:
    page = await browser.get("/console/login")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    css = await browser.get("/console/static/console.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert (await browser.get("/console/static/..%2Fsession.py")).status_code == 404


async def test_sign_out_ends_the_session(browser: httpx.AsyncClient, provider: Running) -> None:
    csrf = await sign_in(browser, key_of(provider))
    name, cookie = next(
        (n, v) for n, v in browser.cookies.items() if n.startswith("gxc_console_") and "_login" not in n
    )
    out = await browser.post("/console/logout", data={"csrf_token": csrf})
    assert out.status_code == 303
    async with httpx.AsyncClient(base_url=provider.base, cookies={name: cookie}) as replay:
        assert (await replay.get("/console/")).status_code == 303
