"""HTTP edges of the connector: the only layer that imports FastAPI (ARCHITECTURE.md §3)."""
