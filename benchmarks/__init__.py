"""Benchmarks: measured side by side with the plain alternative (see docs/performance.md)."""
