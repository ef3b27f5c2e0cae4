"""Gaia-X credentials: keys and DIDs, building, signing, canonicalising, verifying and checking compliance.

A pure library (ARCHITECTURE.md §3): no web framework, HTTP client, database or clock reads; time is a parameter.
"""
