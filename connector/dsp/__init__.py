"""Dataspace Protocol 2025-1 wire layer, sans-IO: messages, transition tables, catalog builders."""
