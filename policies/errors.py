"""The one error base of :mod:`policies`: every failure has a stable ``code`` and a message saying where and why.

House rule 3 (ARCHITECTURE.md §4): malformed input *raises* a :class:`PolicyError`; a deny is a *value* (a
:class:`~policies.report.Report`), never an exception.
"""

from __future__ import annotations


class PolicyError(Exception):
    """Base of every error raised by the policy engine.

    ``code`` is stable (callers and the CLI switch on it); ``where`` is a JSON-pointer-like path into the input
    (``/permission/0/constraint/1``) or an IRI, empty when the whole document is meant.
    """

    code = "policy-error"

    def __init__(self, message: str, *, where: str = "") -> None:
        self.message = message
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


class PolicyParseError(PolicyError):
    """The input is not an ODRL 2.2 policy we can read (ODRL 2.2 IM §2)."""

    code = "parse-error"


class UnknownProfile(PolicyError):
    """The policy declares a profile this processor does not know; IM §3.2 requires us to stop."""

    code = "unknown-profile"


class InheritanceError(PolicyError):
    """``inheritFrom`` cannot be resolved: unknown parent or a cycle (IM §2.9)."""

    code = "inheritance-error"


class OperandError(PolicyError):
    """A left-operand plugin or registration is invalid."""

    code = "operand-error"


class RequestError(PolicyError):
    """An evaluation request or state of the world is malformed (CG formal semantics §3)."""

    code = "request-error"
