"""The twelve ODRL operators over typed values (Vocab §2.6), three-valued: ``True``, ``False`` or ``None``
(indeterminate).

Decisions on what the vocabulary leaves open (odrl.md §1.6, §6.4), with ``L`` the actual (left) values and ``R``
the right operand values:

- a left operand may be set-valued (several purposes). ``eq`` with several values on either side is set
  equality; ``neq`` its negation; ``lt``/``lteq``/``gt``/``gteq`` need one right value and hold iff they hold for
  **every** left value (a request for "research and marketing" does not satisfy ``purpose eq research``);
- ``isAnyOf``: L ∩ R ≠ ∅; ``isNoneOf``: L ∩ R = ∅ (so the two are complementary on known values);
  ``isAllOf``: R ⊆ L ("the value is all of the right operand");
- ``isPartOf``: every l is some r or ``partOf``⁺ some r; ``hasPart``: every r is some l or ``partOf``⁺ some l;
  ``isA``: every l is some r or an instance of some r (classes transitive) — transitivity as in
  Daham-Mustaf/odrl-benchmark;
- ordering of IRIs / strings / booleans is undefined: indeterminate, not false;
- an empty left value set is *missing* for the ordering operators (indeterminate), never vacuously true.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from policies.values import TimeSpan, Value, key, order, time_compare

OperatorName = Literal[
    "eq", "neq", "lt", "lteq", "gt", "gteq", "isA", "hasPart", "isPartOf", "isAllOf", "isAnyOf", "isNoneOf"
]
Closure = Callable[[str], frozenset[str]]

_ORDER = frozenset({"eq", "neq", "lt", "lteq", "gt", "gteq"})


def _scalar(op: str, left: Value, right: Value) -> bool | None:
    if isinstance(left, TimeSpan) and isinstance(right, TimeSpan):
        return time_compare(op, left, right)  # type: ignore[arg-type]
    if op in ("eq", "neq"):
        sign = order(left, right)
        equal = (sign == 0) if sign is not None else (key(left) == key(right))
        return equal if op == "eq" else not equal
    sign = order(left, right)
    if sign is None:
        return None
    return {"lt": sign < 0, "lteq": sign <= 0, "gt": sign > 0, "gteq": sign >= 0}[op]


def holds(op: str, left: tuple[Value, ...], right: tuple[Value, ...], part_of: Closure, types: Closure) -> bool | None:
    """Whether ``left op right`` holds; ``None`` when it cannot be decided."""
    if op in _ORDER:
        if op in ("eq", "neq") and (len(left) != 1 or len(right) != 1):
            equal = {key(v) for v in left} == {key(v) for v in right}
            return equal if op == "eq" else not equal
        if len(right) != 1 or not left:
            return None
        results = [_scalar(op, item, right[0]) for item in left]
        if False in results:
            return False
        return None if None in results else True
    right_keys = {key(v) for v in right}
    if op == "isAnyOf":
        return any(key(v) in right_keys for v in left)
    if op == "isNoneOf":
        return not any(key(v) in right_keys for v in left)
    if op == "isAllOf":
        return right_keys <= {key(v) for v in left}
    if op == "isPartOf":
        return all(any(_within(lv, rv, part_of) for rv in right) for lv in left) if left else False
    if op == "hasPart":
        return all(any(_within(rv, lv, part_of) for lv in left) for rv in right)
    if op == "isA":
        return (
            all(any(key(lv) == key(rv) or (isinstance(lv, str) and rv in types(lv)) for rv in right) for lv in left)
            if left
            else False
        )
    return None


def _within(member: Value, whole: Value, part_of: Closure) -> bool:
    if key(member) == key(whole):
        return True
    return isinstance(member, str) and isinstance(whole, str) and whole in part_of(member)
