"""Following a negotiation or transfer to a state of interest, with a rich status line showing where it is.

The management API waits server-side (``?wait=seconds``, answered early when the process reaches a terminal
state); we ask in short slices so the status line shows each state the process passes through.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from connector.cli.management import Management, err

SLICE_SECONDS = 1.0


def follow(
    api: Management, collection: str, process: dict[str, Any], until: Collection[str], timeout: float
) -> dict[str, Any]:
    """Poll ``/<collection>/<id>`` until its state is in ``until`` or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    noun = collection.rstrip("s")
    with err.status(f"{noun} {process['state']} ...") as status:
        while process["state"] not in until:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            process = api.call("GET", f"/{collection}/{process['id']}", wait=round(min(SLICE_SECONDS, left), 2))
            status.update(f"{noun} {process['state']} ...")
    return process
