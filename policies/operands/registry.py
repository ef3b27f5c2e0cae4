"""Left-operand registry keyed by (scope, operand IRI) (cf. EDC's rule bindings, odrl.md §3.2).

A left operand is an :class:`Operand`: the comparison kind of its values and a *resolver* that reads the actual
value from the evaluation context (request, world). Binding an operand to some scopes only (``catalog``,
``negotiation``, ``transfer``, ``access``, ``monitor``) makes it unknown elsewhere, which the evaluator reports as
indeterminate (fail closed, odrl.md §6.3). Plugins register through the ``gxc.policy_operands`` entry-point group:
each entry point names a callable taking the registry. Policy text is data only; nothing in it is executed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from policies.errors import OperandError
from policies.values import Kind
from policies.vocabulary import expand_term

if TYPE_CHECKING:
    from policies.model import Constraint, Rule
    from policies.state import Request, World

SCOPES = ("catalog", "negotiation", "transfer", "access", "monitor")
ANY_SCOPE = "*"
ENTRY_POINT_GROUP = "gxc.policy_operands"


class Deferred:
    """The value is not known before use and the constraint is enforced in a later scope (the connector defers
    usage constraints such as ``purpose`` or ``count`` in the catalog and negotiation scopes). The constraint is
    reported as satisfied *with this reason*, never silently dropped."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class Missing:
    """The resolver found no value: the constraint is indeterminate (odrl.md §1.9, §6.3)."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Context:
    """What a resolver may read: the request, the world, the rule being evaluated and the scope."""

    request: Request
    world: World
    rule: Rule | None
    scope: str


Resolver = Callable[[Context, "Constraint"], Any]


@dataclass(frozen=True, slots=True)
class Operand:
    """A left operand: its IRI, the kind its values are compared as, and how to read its actual value.

    The resolver returns a scalar, a list/tuple/set (a set-valued operand, e.g. several purposes) or a
    :class:`Missing`.
    """

    iri: str
    kind: Kind
    resolve: Resolver
    description: str = ""


class OperandRegistry:
    """Operands by (scope, IRI); ``*`` binds an operand in every scope."""

    def __init__(self) -> None:
        self._bindings: dict[tuple[str, str], Operand] = {}

    def register(self, operand: Operand, *, scopes: Iterable[str] = (ANY_SCOPE,)) -> None:
        for scope in scopes:
            if scope != ANY_SCOPE and scope not in SCOPES:
                raise OperandError(f"unknown scope {scope!r}; use one of {', '.join(SCOPES)} or '*'", where=operand.iri)
            self._bindings[(scope, expand_term(operand.iri))] = operand

    def lookup(self, scope: str, iri: str) -> Operand | None:
        return self._bindings.get((scope, iri)) or self._bindings.get((ANY_SCOPE, iri))

    def operands(self) -> list[tuple[str, Operand]]:
        """Every binding as ``(scope, operand)``, sorted by IRI then scope."""
        return sorted(((s, o) for (s, _), o in self._bindings.items()), key=lambda b: (b[1].iri, b[0]))

    def copy(self) -> OperandRegistry:
        clone = OperandRegistry()
        clone._bindings = dict(self._bindings)
        return clone

    def load_entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[str]:
        """Let every installed plugin of ``group`` register its operands; returns the entry-point names loaded."""
        loaded = []
        for entry in entry_points(group=group):
            try:
                plugin = entry.load()
            except Exception as exc:
                raise OperandError(f"cannot load policy operand plugin {entry.name!r}: {exc}") from exc
            if not callable(plugin):
                raise OperandError(f"policy operand plugin {entry.name!r} is not callable")
            plugin(self)
            loaded.append(entry.name)
        return loaded
