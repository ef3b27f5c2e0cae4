"""glibc malloc arenas of the server process (issue 6 §3: flat, small memory under bulk transfers).

glibc gives a thread that allocates while another thread holds the main arena an arena of its own, up to eight per
core, and memory freed there stays with that arena for its next allocations. The data plane's worker threads
(1 MiB file reads, SHA-256 batches) and the database driver's threads each end up holding a few MiB of freed
buffers. Two arenas keep that bounded: on the bench (``bench/dataplane.py``), eight concurrent 1 GiB transfers
peaked 4 MiB lower and left 12 MiB less behind, at no measurable cost in throughput. Asking glibc to return every
large buffer to the kernel instead (a fixed ``M_MMAP_THRESHOLD``) saved more memory but cost 30 % more CPU per
proxied GiB in page faults, so it is not done.

``MALLOC_ARENA_MAX`` or ``GLIBC_TUNABLES`` in the environment take precedence; other C libraries are left alone.
"""

from __future__ import annotations

import ctypes
import os
import platform

#: ``mallopt`` parameter number of ``M_ARENA_MAX`` (glibc ``malloc.h``).
M_ARENA_MAX = -8
ARENAS = 2


def limit_arenas(count: int = ARENAS) -> bool:
    """Cap glibc's malloc arenas at ``count``; True when done. Call before the process starts threads."""
    if os.environ.get("MALLOC_ARENA_MAX") or "arena_max" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL(None).mallopt(M_ARENA_MAX, count))
    except (OSError, AttributeError):
        return False
