"""Where the data plane reads an asset's bytes from: an HTTP backend (proxied, streamed) or a local file.

The provider decides per asset what a consumer may influence (EDC ``HttpData`` semantics, dsp.md §transfers):
``proxy_path`` lets the consumer append a path below the asset's base URL, ``proxy_query`` lets it pass a query
string, ``allowed_methods`` limits the HTTP method. Everything else is refused with a clear reason. Appended paths
are normalised segment by segment so that ``..`` (also percent-encoded) can never climb above the base URL.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from connector.domain import FileDataAddress, HttpDataAddress
from connector.errors import ConnectorError

#: Chunk size for reading files: 64 KiB ASGI messages cap uvicorn at ~1 GB/s, 1 MiB reaches nginx class
#: (performance.md §4).
CHUNK_SIZE = 1 << 20


class SourceError(ConnectorError):
    """The consumer asked for something the asset's data address does not allow, or the source is unusable."""

    code = "source-refused"


def upstream_url(address: HttpDataAddress, *, sub_path: str = "", query: str = "", method: str = "GET") -> str:
    """The backend URL for a consumer request, honouring the asset's proxy settings."""
    if method.upper() not in {m.upper() for m in address.allowed_methods}:
        raise SourceError(
            f"method {method} is not allowed for this asset (allowed: {', '.join(address.allowed_methods)})"
        )
    base = urlsplit(address.base_url)
    path = base.path
    segments = [s for s in sub_path.split("/") if s]
    if segments:
        if not address.proxy_path:
            raise SourceError("this asset does not allow a path below its address (proxy_path is off)")
        clean: list[str] = []
        for raw in segments:
            segment = unquote(raw)
            if segment in (".", "..") or "/" in segment or "\\" in segment or "\x00" in segment:
                raise SourceError(f"path segment {raw!r} is not allowed")
            clean.append(quote(segment, safe=""))
        path = path.rstrip("/") + "/" + "/".join(clean)
    if query and not address.proxy_query:
        raise SourceError("this asset does not allow query parameters (proxy_query is off)")
    merged_query = "&".join(q for q in (base.query, query) if q)
    return urlunsplit((base.scheme, base.netloc, path or "/", merged_query, ""))


@dataclass(frozen=True)
class FileInfo:
    """A readable file with the validators HTTP caching and range requests need."""

    path: Path
    size: int
    mtime_ns: int
    etag: str


def file_info(address: FileDataAddress) -> FileInfo:
    """Stat the file; the ETag is derived from inode, size and mtime (cheap, changes whenever content does)."""
    path = Path(address.path)
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise SourceError(f"the file behind this asset is missing ({path.name}); the provider must restore it") from exc
    if not path.is_file():
        raise SourceError("the asset's path is not a regular file")
    if not os.access(path, os.R_OK):
        raise SourceError("the asset's file is not readable by the connector")
    tag = hashlib.sha256(f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest()[:32]
    return FileInfo(path=path, size=st.st_size, mtime_ns=st.st_mtime_ns, etag=f'"{tag}"')
