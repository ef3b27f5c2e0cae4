"""Data plane: transfer tokens, streamed sources and sinks, policy enforcement on every access, usage ledger."""
