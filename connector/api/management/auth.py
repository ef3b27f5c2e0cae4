"""``X-Api-Key`` authentication of the management API (as in EDC); compared in constant time."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.security import APIKeyHeader

from connector.api.management.problems import ProblemError
from connector.settings import ConnectorSettings

API_KEY_HEADER = "X-Api-Key"
scheme = APIKeyHeader(name=API_KEY_HEADER, auto_error=False, description="The management API key from gxc.toml")


def api_key_dependency(settings: ConnectorSettings) -> Callable[[Request], Awaitable[None]]:
    expected = settings.management_api_key.get_secret_value() if settings.management_api_key else None

    async def check(request: Request) -> None:
        given = await scheme(request)
        if expected is None:
            raise ProblemError(
                503, "management-api-disabled", "the management API is disabled: set management_api_key in gxc.toml"
            )
        if given is None or not hmac.compare_digest(given.encode(), expected.encode()):
            raise ProblemError(401, "unauthorized", f"missing or wrong {API_KEY_HEADER} header")

    return check
