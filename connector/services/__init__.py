"""Orchestration: the only place that combines store, policies, dsp and peers; services never commit."""
