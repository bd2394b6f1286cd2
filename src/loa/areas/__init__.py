"""Administrative units (two-tier since 1 July 2025, with former districts kept for history) and stations."""
