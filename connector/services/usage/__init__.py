"""Usage control (issue 6): enforcement on every access, the policy monitor, duties and the usage ledger.

- :mod:`.ledger`: appends hash-chained, signed records to this participant's ledger (serialised per ledger);
- :mod:`.world`: the live state of the world of an agreement (uses so far, elapsed time, claims, performed duties);
- :mod:`.access`: the provider's decision on every pull (reserve -> complete | abort) and token refresh;
- :mod:`.push`: the provider streams a push transfer to the consumer's data address, then completes it;
- :mod:`.monitor`: re-evaluates running transfers and terminates those whose agreement no longer holds;
- :mod:`.obligations`: duties followed through not-set, fulfilled, violated;
- :mod:`.receipts`: the consumer fetches through its stored data address and records each receipt.

Built together by :class:`connector.services.usage.control.UsageControl`, re-exported lazily: the transfer service
imports :mod:`.world`, and the control imports the transfer service, so an eager import here would be a cycle.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from connector.services.usage.control import UsageControl

__all__ = ["UsageControl"]


def __getattr__(name: str) -> Any:
    if name == "UsageControl":
        from connector.services.usage.control import UsageControl

        return UsageControl
    raise AttributeError(name)
