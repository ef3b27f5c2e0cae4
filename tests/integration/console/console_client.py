"""A browser-like HTTP client for the consoles: keeps cookies, signs in through the form, reads CSRF tokens."""

from __future__ import annotations

import re

import httpx

_INPUT = re.compile(r'name="(?P<name>csrf_token|login_token)" value="(?P<value>[^"]+)"')


def hidden(html: str, name: str) -> str:
    for match in _INPUT.finditer(html):
        if match["name"] == name:
            return match["value"]
    raise AssertionError(f"no hidden field {name} in the page")


async def sign_in(client: httpx.AsyncClient, key: str, *, prefix: str = "/console") -> str:
    """Sign in through the form like a browser; returns the session's CSRF token."""
    page = await client.get(f"{prefix}/login")
    assert page.status_code == 200, page.text
    answer = await client.post(
        f"{prefix}/login",
        data={"login_token": hidden(page.text, "login_token"), "api_key": key, "next": f"{prefix}/"},
    )
    assert answer.status_code == 303, answer.text
    home = await client.get(f"{prefix}/")
    assert home.status_code == 200, home.text
    return hidden(home.text, "csrf_token")
