"""What every console page needs: the connector, the session signer, the templates, and the page response.

Pages are server-rendered Jinja2 (autoescaped) with a strict Content-Security-Policy: scripts and styles only from
``/console/static`` (no inline code, no CDN), no framing, forms only to ourselves.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from connector.api.console.session import Session, SessionSigner
from connector.services.assembly import Connector
from connector.settings import ConnectorSettings

PREFIX = "/console"
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # "no-referrer" would make browsers send Origin: null on our own POSTs
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}

#: Messages shown after a redirect (``?notice=key``): fixed texts, so a crafted link cannot put words on a page.
NOTICES = {
    "registered": "The dataset is registered and offered.",
    "deleted": "The dataset is withdrawn.",
    "negotiation-started": "Negotiation requested. The state below updates live.",
    "accepted": "Accepted. The state below updates live.",
    "countered": "Counter-offer sent.",
    "terminated": "Terminated.",
    "transfer-started": "Transfer requested. The state below updates live.",
    "transfer-updated": "Transfer updated.",
    "signed-out": "You are signed out.",
}

#: The navigation: (path below /console, label).
NAV = (
    ("/", "Overview"),
    ("/datasets", "Datasets"),
    ("/discover", "Discover"),
    ("/negotiations", "Negotiations"),
    ("/agreements", "Agreements"),
    ("/transfers", "Transfers"),
    ("/usage", "Usage"),
)


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("connector.api.console", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    return env


def _when(value: str | dt.datetime | None) -> str:
    """ISO timestamps as ``2026-05-01 12:00:03 UTC`` (seconds are enough for people)."""
    if value is None or value == "":
        return "—"
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass
class ConsoleContext:
    """The console's collaborators; ``get`` returns the running connector (the management API's objects)."""

    settings: ConnectorSettings
    get: Callable[[], Connector]
    signer: SessionSigner | None
    templates: Environment = field(default_factory=environment)
    #: Federated catalogues offered on the discover page (base URLs).
    catalogues: tuple[str, ...] = ()

    @property
    def cookie(self) -> str:
        """Cookies are per host, not per port: two connectors on one host (the demo) must not share a session."""
        return "gxc_console_" + hashlib.sha256(self.settings.base_url.encode()).hexdigest()[:10]

    @property
    def login_cookie(self) -> str:
        return self.cookie + "_login"

    @property
    def secure(self) -> bool:
        """Cookies are ``Secure`` when the connector is reached over HTTPS."""
        return self.settings.base_url.startswith("https://")

    def now(self) -> dt.datetime:
        return self.get().runtime.now()

    def session(self, request: Request) -> Session | None:
        if self.signer is None:
            return None
        return self.signer.read(request.cookies.get(self.cookie), self.now())

    def page(
        self,
        request: Request,
        template: str,
        session: Session | None,
        *,
        status: int = 200,
        **values: Any,
    ) -> HTMLResponse:
        identity = self.get().runtime.identity
        html = self.templates.get_template(template).render(
            prefix=PREFIX,
            nav=NAV,
            path=request.url.path,
            session=session,
            csrf=session.csrf if session else "",
            participant_name=self.settings.participant_name,
            participant_did=identity.did,
            notice=NOTICES.get(request.query_params.get("notice", ""), ""),
            **values,
        )
        return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)
