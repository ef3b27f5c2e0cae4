"""Catalogue console sessions: a signed, self-contained cookie value with a session id, its CSRF token and expiry.

The same scheme as the connector console (``connector.api.console.session``, which the import contracts keep out
of ``catalog``'s reach): ``base64url(JSON payload) "." base64url(HMAC-SHA256(payload))`` with a key derived from the
operator API keys, so rotating them signs every operator out. Logging out ends the session id in memory (until the
process restarts; the expiry bounds the rest). Pure code: the time is a parameter.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

#: How long a console login lasts.
LIFETIME = dt.timedelta(hours=8)
_CONTEXT = b"gxc catalogue console session v1"


@dataclass(frozen=True)
class Session:
    """A signed-in console user: ``csrf`` must come back with every form POST of this session."""

    sid: str
    csrf: str
    expires: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class SessionSigner:
    """Issues and reads session cookie values with a key derived from ``secret`` (the operator API key)."""

    def __init__(self, secret: str, *, lifetime: dt.timedelta = LIFETIME) -> None:
        self._key = hmac.new(secret.encode(), _CONTEXT, hashlib.sha256).digest()
        self._lifetime = lifetime
        self._ended: set[str] = set()

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, hashlib.sha256).digest()

    def issue(self, now: dt.datetime) -> tuple[str, Session]:
        session = Session(
            sid=secrets.token_urlsafe(16),
            csrf=secrets.token_urlsafe(24),
            expires=int((now + self._lifetime).timestamp()),
        )
        payload = json.dumps(
            {"sid": session.sid, "csrf": session.csrf, "exp": session.expires}, separators=(",", ":")
        ).encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}", session

    def read(self, value: str | None, now: dt.datetime) -> Session | None:
        """The session of a cookie value, or None when it is missing, forged, expired or logged out."""
        if not value or value.count(".") != 1:
            return None
        body, mac = value.split(".")
        try:
            payload = _unb64(body)
            given = _unb64(mac)
        except (ValueError, TypeError):
            return None
        if not hmac.compare_digest(given, self._mac(payload)):
            return None
        try:
            data = json.loads(payload)
            session = Session(sid=str(data["sid"]), csrf=str(data["csrf"]), expires=int(data["exp"]))
        except (ValueError, KeyError, TypeError):
            return None
        if session.expires <= now.timestamp() or session.sid in self._ended:
            return None
        return session

    def end(self, session: Session) -> None:
        self._ended.add(session.sid)

    def max_age(self) -> int:
        return int(self._lifetime.total_seconds())


def same_token(given: str | None, expected: str) -> bool:
    """Constant-time comparison of a submitted token with the expected one."""
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
