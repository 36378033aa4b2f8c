"""Orchestrator overhead benchmark (docs/benchmarks.md, "Solutions")."""
