"""``evaluate(policy, request, world) -> Report``: the project's decision algorithm (odrl.md §1.9).

:func:`compile_policy` turns a :class:`~policies.model.Policy` into a :class:`CompiledPolicy` once (operands
resolved in the registry for the scope, right operands typed, action hierarchy looked up); the hot path then only
resolves actual values and compares. Decisions on the points where engines disagree (odrl.md §6):

1. **Duties (§6.1).** A duty is a *pre-condition* (IM §2.6.2, FS C1-1): active (its constraints hold) and not
   fulfilled ⇒ the permission is inactive; an inactive duty does not block (FS C2-1). Fulfilled = the world
   records the duty's action (or an action ``includedIn`` it) performed at or before ``now``, by the duty's
   assignee if it names one, on its target if it names one, with its refinements satisfied; if not performed,
   fulfilled when all its consequences are (IM §2.6.6). A duty whose constraints point *after* use (a
   ``delayPeriod``, or a deadline ``dateTime lt/lteq``, or ``… gt/gteq policyUsage``) is *monitored*: reported
   (not-set / fulfilled / violated) but not gating.
2. **Combination (§6.2).** permit iff some permission permits and no prohibition applies; both ⇒ conflict,
   resolved by the policy's ``conflict`` (``perm`` ⇒ permit, ``prohibit`` ⇒ deny, ``invalid`` — the default, and
   the value when merged strategies disagree — voids the policy ⇒ the behaviour decides); neither ⇒ behaviour:
   ``closed`` (default) denies; ``open`` permits only when *no* rule matched the request's action, target and
   party (a matching permission that fails still denies). Several constraints on one rule are a conjunction,
   for prohibitions too (unlike EDC).
3. **Unknown / missing (§6.3).** An operand not bound in the scope, a missing value, an unresolved
   ``rightOperandReference`` or an ill-typed operand is *indeterminate*: a permission depending on it does not
   permit, a prohibition depending on it applies (deny); the report says so. Unknown profiles are refused at
   parse time.
4. **Typing (§6.4).** Right operands are typed by the left operand (:mod:`policies.values`); logical operands are
   read from lists and repeated values alike (:mod:`policies.parse`); operator readings in :mod:`policies.operators`.
5. **Scope (§6.5).** Offers are not evaluated for use (FS) except in the ``catalog`` and ``negotiation`` scopes,
   where they are the access / contract policy evaluated on claims; Request and Assertion policies are never
   evaluated. No assignee means anyone. Targets and assignees match exactly or through ``partOf``⁺ facts of the
   world; collection refinements are evaluated on the request. Actions match through ``includedIn``⁺ (``use``
   covers ``read``, not ``transfer``); ``implies`` only widens conflict detection.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from policies.errors import InheritanceError
from policies.model import Asset, Constraint, ConstraintNode, LogicalConstraint, Party, Policy, Rule
from policies.operands import Context, Deferred, Missing, Operand, OperandRegistry, shared_registry
from policies.operators import holds
from policies.report import ConstraintResult, Report, RuleResult, Satisfaction
from policies.state import Request, World
from policies.values import Kind, Value, coerce, datatype_kind, display
from policies.vocabulary import EVALUATED_TYPES, ODRL, action_covers, short

Behaviour = Literal["closed", "open"]
Scope = Literal["catalog", "negotiation", "transfer", "access", "monitor"]

_SET_OPERATORS = frozenset({"isAnyOf", "isNoneOf", "isAllOf"})
_SAT: Satisfaction = "satisfied"
_UNSAT: Satisfaction = "unsatisfied"
_INDET: Satisfaction = "indeterminate"
_COMPATIBLE: dict[Kind, frozenset[Kind]] = {
    "datetime": frozenset({"datetime"}),
    "duration": frozenset({"duration"}),
    "decimal": frozenset({"decimal"}),
    "boolean": frozenset({"boolean"}),
}


def _as_tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, (list, tuple, set, frozenset)):
        return tuple(value)
    return (value,)


class _Atomic:
    """A compiled atomic constraint."""

    __slots__ = ("constraint", "error", "kind", "op", "operand", "refinement", "right", "right_display")

    def __init__(self, constraint: Constraint, registry: OperandRegistry, scope: str, refinement: bool) -> None:
        self.constraint = constraint
        self.refinement = refinement
        self.op = constraint.operator[len(ODRL) :]
        self.operand: Operand | None = registry.lookup(scope, constraint.left_operand)
        self.error: str | None = None
        self.right: tuple[Value, ...] = ()
        self.right_display: Any = [t.value for t in constraint.right_operand]
        self.kind: Kind = self.operand.kind if self.operand else "token"
        if self.operand is None:
            self.error = f"left operand {short(constraint.left_operand)} is not supported in scope {scope}"
            return
        declared = datatype_kind(constraint.data_type)
        if declared and declared not in _COMPATIBLE.get(self.kind, frozenset({declared})) and self.kind != "token":
            self.error = f"dataType {short(constraint.data_type or '')} does not fit {short(constraint.left_operand)}"
            return
        if constraint.right_operand_reference is None:
            typed = self._type_right(tuple(t.value for t in constraint.right_operand))
            if isinstance(typed, str):
                self.error = typed
            else:
                self.right = typed
                self.right_display = self._show_right(typed)

    def _show_right(self, values: tuple[Value, ...]) -> Any:
        # Set-based operators keep their list form in reports ("isAnyOf [research]"), scalars read as scalars.
        return [display(v) for v in values] if self.op in _SET_OPERATORS else _display(values)

    def _type_right(self, raw: tuple[Any, ...]) -> tuple[Value, ...] | str:
        if self.kind == "datetime" and raw and raw[0] == ODRL + "policyUsage":
            return "rightOperand policyUsage needs the action's usage time (not modelled)"
        try:
            return tuple(coerce(v, self.kind) for v in raw)
        except ValueError as exc:
            return f"right operand {exc}"

    def evaluate(self, context: Context) -> ConstraintResult:
        c = self.constraint
        if self.error is not None:
            return ConstraintResult(
                c.left_operand, self.op, self.right_display, None, _INDET, self.error, refinement=self.refinement
            )
        right = self.right
        right_display = self.right_display
        if c.right_operand_reference is not None:
            referenced = context.world.references.get(c.right_operand_reference)
            if referenced is None:
                reason = f"rightOperandReference {c.right_operand_reference} was not resolved"
                return ConstraintResult(
                    c.left_operand, self.op, c.right_operand_reference, None, _INDET, reason, refinement=self.refinement
                )
            typed = self._type_right(_as_tuple(referenced))
            if isinstance(typed, str):
                return ConstraintResult(
                    c.left_operand, self.op, c.right_operand_reference, None, _INDET, typed, refinement=self.refinement
                )
            right, right_display = typed, self._show_right(typed)
        assert self.operand is not None
        raw = self.operand.resolve(context, c)
        if isinstance(raw, Deferred):
            return ConstraintResult(
                c.left_operand,
                self.op,
                right_display,
                None,
                _SAT,
                f"deferred: {raw.reason}",
                refinement=self.refinement,
            )
        if isinstance(raw, Missing):
            return ConstraintResult(
                c.left_operand, self.op, right_display, None, _INDET, raw.reason, refinement=self.refinement
            )
        try:
            left = tuple(coerce(v, self.kind) for v in _as_tuple(raw))
        except ValueError as exc:
            return ConstraintResult(
                c.left_operand,
                self.op,
                right_display,
                _plain(raw),
                _INDET,
                f"actual value {exc}",
                refinement=self.refinement,
            )
        world = context.world
        outcome = holds(self.op, left, right, world.ancestors, world.types)
        value = _display(left)
        if outcome is None:
            reason = f"{short(c.left_operand)} {_show(value)} cannot be compared with {self.op} {_show(right_display)}"
            return ConstraintResult(
                c.left_operand, self.op, right_display, value, _INDET, reason, refinement=self.refinement
            )
        return ConstraintResult(
            c.left_operand, self.op, right_display, value, _SAT if outcome else _UNSAT, refinement=self.refinement
        )


def _display(values: tuple[Value, ...]) -> Any:
    shown = [display(v) for v in values]
    return shown[0] if len(shown) == 1 else shown


def _plain(raw: Any) -> Any:
    return raw if isinstance(raw, (str, int, float, bool, list)) or raw is None else str(raw)


def _show(value: Any) -> str:
    return str(value)


class _Logical:
    __slots__ = ("name", "operands", "refinement")

    def __init__(self, constraint: LogicalConstraint, registry: OperandRegistry, scope: str, refinement: bool) -> None:
        self.name = constraint.operator
        self.refinement = refinement
        self.operands = tuple(_compile_constraint(o, registry, scope, refinement) for o in constraint.operands)

    def evaluate(self, context: Context) -> ConstraintResult:
        results: list[ConstraintResult] = []
        if self.name == "andSequence":
            # IM §2.5.2: all, in order; a later operand is only reached once the earlier ones are satisfied.
            for operand in self.operands:
                result = operand.evaluate(context)
                results.append(result)
                if result.satisfaction != _SAT:
                    break
            states = [r.satisfaction for r in results]
            outcome = _SAT if len(results) == len(self.operands) and all(s == _SAT for s in states) else states[-1]
        else:
            results = [o.evaluate(context) for o in self.operands]
            states = [r.satisfaction for r in results]
            outcome = _combine(self.name, states)
        return ConstraintResult(
            None, self.name, None, None, outcome, operands=tuple(results), refinement=self.refinement
        )


def _combine(name: str, states: list[Satisfaction]) -> Satisfaction:
    """Three-valued ``and`` / ``or`` / ``xone`` (Kleene; ``xone`` true iff exactly one operand holds)."""
    satisfied = states.count(_SAT)
    unknown = states.count(_INDET)
    if name == "and":
        return _UNSAT if _UNSAT in states else _INDET if unknown else _SAT
    if name == "or":
        return _SAT if satisfied else _INDET if unknown else _UNSAT
    if satisfied > 1:
        return _UNSAT
    if unknown:
        return _INDET
    return _SAT if satisfied == 1 else _UNSAT


def _compile_constraint(
    node: ConstraintNode, registry: OperandRegistry, scope: str, refinement: bool
) -> _Atomic | _Logical:
    if isinstance(node, LogicalConstraint):
        return _Logical(node, registry, scope, refinement)
    return _Atomic(node, registry, scope, refinement)


def _all(results: list[ConstraintResult]) -> Satisfaction:
    return _combine("and", [r.satisfaction for r in results]) if results else _SAT


def _is_post_use(node: ConstraintNode) -> bool:
    """A duty constraint pointing after use (odrl.md §6.1): delayPeriod, a deadline, or ``gt policyUsage``."""
    if isinstance(node, LogicalConstraint):
        return any(_is_post_use(o) for o in node.operands)
    op = node.operator[len(ODRL) :]
    if node.left_operand == ODRL + "delayPeriod":
        return True
    if any(t.value == ODRL + "policyUsage" for t in node.right_operand):
        return op in ("gt", "gteq")
    return node.left_operand == ODRL + "dateTime" and op in ("lt", "lteq")


def _deadline_passed(results: tuple[ConstraintResult, ...]) -> bool:
    for r in results:
        if r.operands and _deadline_passed(r.operands):
            return True
        if r.left_operand == ODRL + "dateTime" and r.operator in ("lt", "lteq") and r.satisfaction == _UNSAT:
            return True
    return False


class _CompiledRule:
    __slots__ = ("consequences", "constraints", "duties", "position", "post_use", "refinements", "remedies", "rule")

    def __init__(self, rule: Rule, position: int, registry: OperandRegistry, scope: str) -> None:
        self.rule = rule
        self.position = position
        self.constraints = tuple(_compile_constraint(c, registry, scope, False) for c in rule.constraints)
        refinements: list[_Atomic | _Logical] = [
            _compile_constraint(c, registry, scope, True) for c in rule.action.refinements
        ]
        for thing in (rule.target, rule.assignee):
            if thing is not None:
                refinements.extend(_compile_constraint(c, registry, scope, True) for c in thing.refinements)
        self.refinements = tuple(refinements)
        self.duties = tuple(_CompiledRule(d, i, registry, scope) for i, d in enumerate(rule.duties, start=1))
        self.consequences = tuple(
            _CompiledRule(d, i, registry, scope) for i, d in enumerate(rule.consequences, start=1)
        )
        self.remedies = tuple(_CompiledRule(d, i, registry, scope) for i, d in enumerate(rule.remedies, start=1))
        self.post_use = any(_is_post_use(c) for c in rule.constraints)

    def matches(self, request: Request, world: World) -> bool:
        """Action (includedIn⁺), target (equal or partOf⁺) and assignee (absent, equal or partOf⁺), FS §4 (a)-(c)."""
        rule = self.rule
        if not action_covers(rule.action.iri, request.action):
            return False
        return _member(rule.target, request.target, world) and _member(rule.assignee, request.party, world)

    def performed(self, context: Context) -> bool:
        """Whether the world records this duty's action as performed (FS "Semantics of Duties")."""
        rule = self.rule
        world = context.world
        for event in world.performed:
            if event.time > world.now or not action_covers(rule.action.iri, event.action):
                continue
            if rule.target is not None and not _member(rule.target, event.target, world):
                continue
            if rule.assignee is not None and not _member(rule.assignee, event.party, world):
                continue
            if self.refinements:
                seen = Request(action=event.action, target=event.target, party=event.party, parameters=event.parameters)
                if _all([r.evaluate(Context(seen, world, rule, context.scope)) for r in self.refinements]) != _SAT:
                    continue
            return True
        return False

    def duty_result(self, context: Context, kind: Literal["duty", "obligation"]) -> RuleResult:
        """Activation and deontic state of a duty, consequence, remedy or obligation."""
        ctx = Context(context.request, context.world, self.rule, context.scope)
        constraints = [c.evaluate(ctx) for c in self.constraints]
        satisfaction = _all(constraints)
        consequences: tuple[RuleResult, ...] = ()
        state: Literal["not-set", "fulfilled", "violated"] | None
        if self.performed(ctx):
            state = "fulfilled"
        else:
            consequences = tuple(c.duty_result(context, "duty") for c in self.consequences)
            if consequences and all(c.state == "fulfilled" for c in consequences):
                state = "fulfilled"
            elif _deadline_passed(tuple(constraints)):
                state = "violated"
            else:
                state = "not-set"
        # Indeterminate duty constraints count as active: the duty then gates (fail closed).
        active = satisfaction != _UNSAT
        if not active and state == "not-set":
            state = None
        return RuleResult(
            uid=self.rule.uid,
            kind=kind,
            position=self.position,
            action=self.rule.action.iri,
            activation="active" if active else "inactive",
            state=state,
            matched=True,
            constraints=tuple(constraints),
            duties=consequences,
            gating=kind == "duty" and not self.post_use,
            indeterminate=satisfaction == _INDET,
        )


def _member(expected: Asset | Party | None, actual: str | None, world: World) -> bool:
    if expected is None:
        return True
    ref = expected.ref
    if actual is None or ref is None:
        return False
    return actual == ref or ref in world.ancestors(actual)


@dataclass(frozen=True, slots=True)
class _Outcome:
    rules: tuple[RuleResult, ...]
    permitted: list[RuleResult]
    prohibited: list[RuleResult]
    any_match: bool


class CompiledPolicy:
    """A policy prepared for repeated evaluation in one scope (the hot path of the data plane)."""

    def __init__(
        self,
        policy: Policy,
        *,
        scope: str = "access",
        registry: OperandRegistry | None = None,
        behaviour: Behaviour = "closed",
    ) -> None:
        if policy.inherit_from:
            raise InheritanceError(
                f"policy inherits from {', '.join(policy.inherit_from)}; resolve it first (resolve_inheritance)",
                where=policy.uid,
            )
        self.policy = policy
        self.scope = scope
        self.behaviour = behaviour
        registry = registry or shared_registry()
        self._permissions = tuple(
            _CompiledRule(r, i, registry, scope) for i, r in enumerate(policy.permissions, start=1)
        )
        self._prohibitions = tuple(
            _CompiledRule(r, i, registry, scope) for i, r in enumerate(policy.prohibitions, start=1)
        )
        self._obligations = tuple(
            _CompiledRule(r, i, registry, scope) for i, r in enumerate(policy.obligations, start=1)
        )
        self._refusal = self._refuse()

    def _refuse(self) -> str | None:
        policy = self.policy
        if policy.replaced_by:
            return (
                f"denied: policy {policy.uid} is replaced by {policy.replaced_by} (IM §2.8); evaluate the replacement"
            )
        if policy.type == ODRL + "Offer" and self.scope not in ("catalog", "negotiation"):
            return f"denied: an Offer is not evaluated for use (CG semantics); scope {self.scope} needs an Agreement"
        if policy.type not in EVALUATED_TYPES and policy.type != ODRL + "Offer":
            return f"denied: a {policy.type_name} policy is not evaluated"
        return None

    def evaluate(self, request: Request, world: World) -> Report:
        """The full report: decision, reason, conflict, per-rule and per-constraint states."""
        created = world.now.isoformat()
        if self._refusal is not None:
            return Report("deny", self._refusal, None, (), self.policy.uid, self.scope, created)
        outcome = self._run(request, world)
        decision, reason, conflict = self._decide(outcome, request)
        return Report(decision, reason, conflict, outcome.rules, self.policy.uid, self.scope, created)

    def decide(self, request: Request, world: World) -> bool:
        """Only the decision (``True`` = permit), same semantics as :meth:`evaluate` without building the report:
        rules whose action, target or party do not match the request cannot change the decision, so their
        constraints are not evaluated (the data plane's per-access check)."""
        if self._refusal is not None:
            return False
        permitted = prohibited = any_match = False
        for compiled in self._permissions:
            if compiled.matches(request, world):
                any_match = True
                permitted = permitted or self._permission(compiled, request, world).state == "permit"
        for compiled in self._prohibitions:
            if compiled.matches(request, world):
                any_match = True
                prohibited = prohibited or self._prohibition(compiled, request, world).state == "deny"
        if permitted and prohibited:
            strategy = self.policy.strategy
            return strategy == "perm" or (strategy == "invalid" and self.behaviour == "open")
        if permitted or prohibited:
            return permitted
        return self.behaviour == "open" and not any_match

    def _run(self, request: Request, world: World) -> _Outcome:
        results: list[RuleResult] = []
        permitted: list[RuleResult] = []
        prohibited: list[RuleResult] = []
        any_match = False
        for compiled in self._permissions:
            result = self._permission(compiled, request, world)
            any_match = any_match or result.matched
            results.append(result)
            if result.state == "permit":
                permitted.append(result)
        for compiled in self._prohibitions:
            result = self._prohibition(compiled, request, world)
            any_match = any_match or result.matched
            results.append(result)
            if result.state == "deny":
                prohibited.append(result)
        for compiled in self._obligations:
            results.append(compiled.duty_result(Context(request, world, compiled.rule, self.scope), "obligation"))
        return _Outcome(tuple(results), permitted, prohibited, any_match)

    def _permission(self, compiled: _CompiledRule, request: Request, world: World) -> RuleResult:
        context = Context(request, world, compiled.rule, self.scope)
        matched = compiled.matches(request, world)
        constraints = [c.evaluate(context) for c in compiled.constraints]
        refinements = [c.evaluate(context) for c in compiled.refinements]
        duties = tuple(d.duty_result(context, "duty") for d in compiled.duties)
        blocked = any(d.gating and d.activation == "active" and d.state != "fulfilled" for d in duties)
        satisfaction = _all(constraints)
        active = satisfaction == _SAT and not blocked
        permits = matched and active and _all(refinements) == _SAT
        return RuleResult(
            uid=compiled.rule.uid,
            kind="permission",
            position=compiled.position,
            action=compiled.rule.action.iri,
            activation="active" if active else "inactive",
            state="permit" if permits else "deny",
            matched=matched,
            constraints=tuple(constraints + refinements),
            duties=duties,
            indeterminate=satisfaction == _INDET,
        )

    def _prohibition(self, compiled: _CompiledRule, request: Request, world: World) -> RuleResult:
        context = Context(request, world, compiled.rule, self.scope)
        matched = compiled.matches(request, world)
        constraints = [c.evaluate(context) for c in compiled.constraints]
        refinements = [c.evaluate(context) for c in compiled.refinements]
        satisfaction = _all(constraints)
        refined = _all(refinements)
        # An unknown value never lets a prohibition off the hook (odrl.md §6.3): indeterminate counts as applying.
        applies = matched and satisfaction != _UNSAT and refined != _UNSAT
        state: Literal["deny", "violated", "fulfilled"] | None = "deny" if applies else None
        remedies: tuple[RuleResult, ...] = ()
        if not applies and satisfaction == _SAT and compiled.performed(context):
            remedies = tuple(r.duty_result(context, "duty") for r in compiled.remedies)
            state = "fulfilled" if remedies and all(r.state == "fulfilled" for r in remedies) else "violated"
        return RuleResult(
            uid=compiled.rule.uid,
            kind="prohibition",
            position=compiled.position,
            action=compiled.rule.action.iri,
            activation="active" if satisfaction != _UNSAT else "inactive",
            state=state,
            matched=matched,
            constraints=tuple(constraints + refinements),
            duties=remedies,
            indeterminate=applies and (satisfaction == _INDET or refined == _INDET),
        )

    def _decide(
        self, outcome: _Outcome, request: Request
    ) -> tuple[Literal["permit", "deny"], str, Literal["perm", "prohibit", "invalid"] | None]:
        permitted, prohibited = outcome.permitted, outcome.prohibited
        if permitted and not prohibited:
            return "permit", f"permitted: {permitted[0].label} allows {short(request.action)}{_on(request)}", None
        if prohibited and not permitted:
            return "deny", _prohibition_reason(prohibited[0], request), None
        if permitted and prohibited:
            strategy = self.policy.strategy
            pair = f"{permitted[0].label} and {prohibited[0].label} conflict"
            if prohibited[0].indeterminate:
                pair += f" ({_prohibition_reason(prohibited[0], request).removeprefix('denied: ')})"
            if strategy == "perm":
                return (
                    "permit",
                    f"permitted: {pair}; the policy's conflict strategy perm lets the permission win",
                    "perm",
                )
            if strategy == "prohibit":
                return (
                    "deny",
                    f"denied: {pair}; the policy's conflict strategy prohibit lets the prohibition win",
                    "prohibit",
                )
            if self.behaviour == "open":
                return (
                    "permit",
                    f"permitted: {pair}; strategy invalid voids the policy and the behaviour is open",
                    "invalid",
                )
            return "deny", f"denied: {pair}; conflict strategy invalid voids the policy (IM §2.10)", "invalid"
        if self.behaviour == "open" and not outcome.any_match:
            return (
                "permit",
                f"permitted: no rule covers {short(request.action)}{_on(request)} and the behaviour is open",
                None,
            )
        failing = [r for r in outcome.rules if r.kind == "permission" and r.matched]
        if failing:
            return "deny", "denied: " + failing[0].failure(), None
        return (
            "deny",
            f"denied: no permission covers {short(request.action)}{_on(request)}{_by(request)} (closed world)",
            None,
        )


def _on(request: Request) -> str:
    return f" on {request.target}" if request.target else ""


def _by(request: Request) -> str:
    return f" by {request.party}" if request.party else ""


def _prohibition_reason(rule: RuleResult, request: Request) -> str:
    if rule.indeterminate:
        unknown = [c.first_failure() for c in rule.constraints if c.satisfaction == _INDET]
        why = unknown[0].reason if unknown and unknown[0].reason else "a value is unknown"
        return f"denied: {rule.label} may apply to {short(request.action)}: {why} (indeterminate)"
    return f"denied: {rule.label} forbids {short(rule.action)}{_on(request)}"


def compile_policy(
    policy: Policy, *, scope: str = "access", registry: OperandRegistry | None = None, behaviour: Behaviour = "closed"
) -> CompiledPolicy:
    """Prepare ``policy`` for repeated evaluation in ``scope`` (operands bound, right operands typed)."""
    return CompiledPolicy(policy, scope=scope, registry=registry, behaviour=behaviour)


def evaluate(
    policy: Policy | CompiledPolicy,
    request: Request,
    world: World,
    *,
    scope: str = "access",
    registry: OperandRegistry | None = None,
    behaviour: Behaviour = "closed",
) -> Report:
    """Decide ``request`` against ``policy`` in ``world`` (odrl.md §1.9) and explain why."""
    compiled = (
        policy
        if isinstance(policy, CompiledPolicy)
        else CompiledPolicy(policy, scope=scope, registry=registry, behaviour=behaviour)
    )
    return compiled.evaluate(request, world)


__all__ = ["Behaviour", "CompiledPolicy", "Scope", "compile_policy", "evaluate"]
