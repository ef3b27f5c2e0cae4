"""Typed values for constraint comparison, driven by the left operand (odrl.md §6.4).

The ODRL and DSP contexts give ``rightOperand`` no type, so ``"2025-01-01"`` arrives as a plain string; the left
operand decides how to read it (Vocab §2.5: ``dateTime`` takes ``xsd:date`` / ``xsd:dateTime``, ``elapsedTime``
an ``xsd:duration``, ``payAmount`` an ``xsd:decimal`` ...). An explicit ``dataType`` or literal datatype that
contradicts the left operand is an error reported as *indeterminate*, never coerced silently.

Decisions (XSD 1.1 Part 2 §3.3.7, §3.3.6):

- a time value is a span: an ``xsd:dateTime`` is an instant, an ``xsd:date`` the whole day ``[d, d+1)``; so
  ``dateTime lteq 2025-01-31`` holds all through 31 January and ``lt`` means "before that day";
- a value without a time zone is compared as XSD does: if the answer is the same for every zone from -14:00 to
  +14:00 it stands, otherwise it is *indeterminate* (never guessed);
- durations are partially ordered: compared through XSD's four reference instants; disagreement is indeterminate.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from policies.vocabulary import XSD

Kind = Literal["datetime", "duration", "decimal", "boolean", "token", "language"]

_ZONE_SPREAD = dt.timedelta(hours=14)


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """``[start, end)``; ``start == end`` for an instant. ``floating`` when the lexical form had no zone."""

    start: dt.datetime
    end: dt.datetime
    floating: bool

    @property
    def instant(self) -> bool:
        return self.start == self.end

    def display(self) -> str:
        if self.instant:
            text = self.start.isoformat()
            return text.replace("+00:00", "Z")
        return self.start.date().isoformat() + (
            "" if self.floating else "Z" if self.start.utcoffset() == dt.timedelta(0) else ""
        )


@dataclass(frozen=True, slots=True)
class Duration:
    """An ``xsd:duration`` as (months, seconds), sign included."""

    months: int
    seconds: Decimal

    def display(self) -> str:
        return f"P{self.months}M{self.seconds}S" if self.months else f"PT{self.seconds.normalize():f}S"


Value = TimeSpan | Duration | Decimal | bool | str

_DATETIME = re.compile(
    r"^(-?\d{4,})-(\d\d)-(\d\d)T(\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?(Z|[+-]\d\d:\d\d)?$"
)  # seconds optional: DSP examples use "2023-12-31T06:00Z" (dsp.md §3.3)
_DATE = re.compile(r"^(-?\d{4,})-(\d\d)-(\d\d)(Z|[+-]\d\d:\d\d)?$")
_DURATION = re.compile(r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def _zone(text: str | None) -> dt.tzinfo | None:
    if text is None:
        return None
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    hours, minutes = int(text[1:3]), int(text[4:6])
    return dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))


def parse_time(text: str) -> TimeSpan:
    """An ``xsd:dateTime`` (instant) or ``xsd:date`` (day span); raises ``ValueError``."""
    text = text.strip()
    m = _DATETIME.match(text)
    if m:
        year, month, day, hour, minute = (int(m.group(i)) for i in range(1, 6))
        second = int(m.group(6) or 0)
        micro = int((m.group(7) or ".0")[1:7].ljust(6, "0"))
        extra = dt.timedelta(0)
        if hour == 24 and minute == 0 and second == 0:  # XSD allows 24:00:00 = next midnight
            hour, extra = 0, dt.timedelta(days=1)
        tz = _zone(m.group(8))
        moment = dt.datetime(year, month, day, hour, minute, second, micro, tzinfo=tz) + extra
        return TimeSpan(moment, moment, tz is None)
    m = _DATE.match(text)
    if m:
        tz = _zone(m.group(4))
        start = dt.datetime(int(m.group(1)), int(m.group(2)), int(m.group(3)), tzinfo=tz)
        return TimeSpan(start, start + dt.timedelta(days=1), tz is None)
    raise ValueError(f"{text!r} is not an xsd:dateTime or xsd:date")


def from_datetime(value: dt.datetime) -> TimeSpan:
    return TimeSpan(value, value, value.tzinfo is None)


def parse_duration(text: str) -> Duration:
    """An ``xsd:duration`` (``P1Y2M3DT4H5M6.5S``); raises ``ValueError``."""
    m = _DURATION.match(text.strip())
    if not m or text.strip() in ("P", "-P") or text.strip().endswith("T"):
        raise ValueError(f"{text!r} is not an xsd:duration")
    sign = -1 if m.group(1) else 1
    years, months, days, hours, minutes = (int(m.group(i) or 0) for i in range(2, 7))
    seconds = Decimal(m.group(7) or 0)
    total = Decimal(((days * 24 + hours) * 60 + minutes) * 60) + seconds
    return Duration(sign * (years * 12 + months), sign * total)


def from_timedelta(value: dt.timedelta) -> Duration:
    return Duration(0, Decimal(value.days * 86400 + value.seconds) + Decimal(value.microseconds) / Decimal(1_000_000))


_DATATYPE_KIND: dict[str, Kind] = {
    XSD + "dateTime": "datetime",
    XSD + "dateTimeStamp": "datetime",
    XSD + "date": "datetime",
    XSD + "duration": "duration",
    XSD + "dayTimeDuration": "duration",
    XSD + "yearMonthDuration": "duration",
    XSD + "decimal": "decimal",
    XSD + "integer": "decimal",
    XSD + "int": "decimal",
    XSD + "long": "decimal",
    XSD + "nonNegativeInteger": "decimal",
    XSD + "positiveInteger": "decimal",
    XSD + "double": "decimal",
    XSD + "float": "decimal",
    XSD + "boolean": "boolean",
}


def datatype_kind(datatype: str | None) -> Kind | None:
    """The comparison kind an explicit datatype implies (``None`` for strings, IRIs and unknown types)."""
    return _DATATYPE_KIND.get(datatype) if datatype else None


def coerce(raw: object, kind: Kind) -> Value:
    """Read ``raw`` (lexical form or a Python value from the request / world) as ``kind``; raises ``ValueError``."""
    if kind == "datetime":
        if isinstance(raw, dt.datetime):
            return from_datetime(raw)
        if isinstance(raw, dt.date):
            start = dt.datetime(raw.year, raw.month, raw.day)
            return TimeSpan(start, start + dt.timedelta(days=1), True)
        return parse_time(str(raw))
    if kind == "duration":
        if isinstance(raw, dt.timedelta):
            return from_timedelta(raw)
        if isinstance(raw, (int, float, Decimal)) and not isinstance(raw, bool):
            return Duration(0, Decimal(str(raw)))  # plain numbers from a ledger are seconds
        return parse_duration(str(raw))
    if kind == "decimal":
        if isinstance(raw, bool):
            raise ValueError(f"{raw!r} is not a number")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise ValueError(f"{raw!r} is not a number") from None
        if not number.is_finite():
            raise ValueError(f"{raw!r} is not a finite number")
        return number
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in ("true", "1"):
            return True
        if text in ("false", "0"):
            return False
        raise ValueError(f"{raw!r} is not an xsd:boolean")
    if kind == "language":
        return str(raw).strip().lower()  # BCP 47 tags compare case-insensitively (RFC 5646 §2.1.1)
    return str(raw)


# ----------------------------------------------------------------------------------------------- ordering

Op = Literal["eq", "neq", "lt", "lteq", "gt", "gteq"]


def _shift(span: TimeSpan, offset: dt.timedelta) -> TimeSpan:
    zone = dt.timezone(offset)
    return TimeSpan(span.start.replace(tzinfo=zone), span.end.replace(tzinfo=zone), False)


def _time_holds(op: Op, left: TimeSpan, right: TimeSpan) -> bool:
    t, s, e = left.start, right.start, right.end
    point = right.instant
    if op == "lt":
        return t < s
    if op == "lteq":
        return t <= s if point else t < e
    if op == "gt":
        return t > s if point else t >= e
    if op == "gteq":
        return t >= s
    inside = t == s if point else s <= t < e
    return inside if op == "eq" else not inside


def time_compare(op: Op, left: TimeSpan, right: TimeSpan) -> bool | None:
    """``left op right`` for time values; ``None`` when a floating (zone-less) value makes it undecidable."""
    if left.floating == right.floating:
        return _time_holds(op, left, right)
    outcomes = set()
    for offset in (_ZONE_SPREAD, -_ZONE_SPREAD):
        a = _shift(left, offset) if left.floating else left
        b = _shift(right, offset) if right.floating else right
        outcomes.add(_time_holds(op, a, b))
    return outcomes.pop() if len(outcomes) == 1 else None


_REFERENCES = tuple(dt.datetime(*d, tzinfo=dt.UTC) for d in ((1696, 9, 1), (1697, 2, 1), (1903, 3, 1), (1903, 7, 1)))


def _add(moment: dt.datetime, duration: Duration) -> dt.datetime:
    month_index = moment.month - 1 + duration.months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    return moment.replace(year=year, month=month) + dt.timedelta(seconds=float(duration.seconds))


def duration_order(left: Duration, right: Duration) -> int | None:
    """-1 / 0 / 1, or ``None`` when XSD's partial order leaves the pair incomparable (XSD 1.1 §3.3.6.2)."""
    if left.months == right.months:
        return (left.seconds > right.seconds) - (left.seconds < right.seconds)
    if left.seconds == right.seconds:
        return (left.months > right.months) - (left.months < right.months)
    signs = set()
    for ref in _REFERENCES:
        a, b = _add(ref, left), _add(ref, right)
        signs.add((a > b) - (a < b))
    return signs.pop() if len(signs) == 1 else None


def order(left: Value, right: Value) -> int | None:
    """Total or partial order of two values of the same kind; ``None`` if undefined or incomparable."""
    if isinstance(left, Duration) and isinstance(right, Duration):
        return duration_order(left, right)
    if isinstance(left, Decimal) and isinstance(right, Decimal):
        return (left > right) - (left < right)
    return None


def key(value: Value) -> object:
    """A hashable identity for set operators (``isAnyOf`` ...): equal values get equal keys."""
    if isinstance(value, TimeSpan):
        if value.floating:
            return ("floating", value.start, value.end)
        return (value.start.astimezone(dt.UTC), value.end.astimezone(dt.UTC))
    if isinstance(value, Decimal):
        return value.normalize() if value != 0 else Decimal(0)
    return value


def display(value: Value) -> object:
    """JSON-friendly rendering for reports (numbers stay numbers)."""
    if isinstance(value, (TimeSpan, Duration)):
        return value.display()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
