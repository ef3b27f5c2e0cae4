"""The one error base of ``connector`` (house rule 4); each edge (DSP, management API, CLI) translates it once."""

from __future__ import annotations


class ConnectorError(Exception):
    """Base of every error the connector raises on purpose.

    ``code`` is a stable identifier; the message is one line that says what is wrong and what to do next.
    """

    code: str = "connector-error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else self.code


class ConfigurationError(ConnectorError):
    """The configuration (file, environment or state folder) is unusable; the message says how to fix it."""

    code = "configuration-error"
