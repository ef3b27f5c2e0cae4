"""Outbox runner: claims intended messages with a lease, sends them, commits on the peer's ACK, backs off."""
