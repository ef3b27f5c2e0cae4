"""HTTP range requests for file sources (RFC 9110 §14: ``Range``, ``If-Range``, ``Content-Range``, 206/416).

One byte range is served as asked. Several ranges in one request (multipart/byteranges) are answered with the
whole representation (200), which RFC 9110 §14.2 allows ("a server MAY ignore the Range header field"): consumers
that resume or parallelise downloads ask for one range at a time.
"""

from __future__ import annotations

from dataclasses import dataclass

from connector.errors import ConnectorError


class RangeNotSatisfiable(ConnectorError):
    """The requested range lies outside the representation (416 with ``Content-Range: bytes */size``)."""

    code = "range-not-satisfiable"

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message)
        self.size = size


@dataclass(frozen=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive (RFC 9110 notation)."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(
    header: str | None, size: int, *, if_range: str | None = None, etag: str | None = None
) -> ByteRange | None:
    """The range to serve, or ``None`` for the whole representation; raises :class:`RangeNotSatisfiable`."""
    if not header:
        return None
    if if_range is not None and if_range != etag:
        return None  # the client's copy is stale: send everything (RFC 9110 §13.1.5)
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = spec.strip().partition("-")
    if not dash:
        return None
    try:
        if first == "":
            suffix = int(last)
            if suffix <= 0:
                raise RangeNotSatisfiable(f"suffix range of {suffix} bytes selects nothing", size=size)
            start, end = max(size - suffix, 0), size - 1
        else:
            start = int(first)
            end = int(last) if last else size - 1
    except ValueError:
        return None  # syntactically invalid ranges are ignored (RFC 9110 §14.2)
    if start < 0 or (last and end < start):
        return None
    if start >= size:
        raise RangeNotSatisfiable(f"range starts at byte {start}, the representation has {size} bytes", size=size)
    return ByteRange(start, min(end, size - 1))
