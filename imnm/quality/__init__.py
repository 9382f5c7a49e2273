"""Data quality across the stages: the check record type, the audit writes and the Great
Expectations results kept per run."""
