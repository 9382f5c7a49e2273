"""Harmonize rules: staging rows to the study-neutral core (platform codes, units, pseudonyms,
echo findings)."""
