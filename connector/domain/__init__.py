"""Persisted entities of the connector: negotiations, transfer processes, assets, contract definitions, outbox."""
