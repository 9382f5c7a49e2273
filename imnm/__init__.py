"""IMNM cardiac data platform: shared domain code behind the `imnm` command."""

__version__ = "0.1.0"
