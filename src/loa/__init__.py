"""Loa: the grassroots information platform (smart radio, bulletins, reports)."""

__version__ = "0.1.0"
