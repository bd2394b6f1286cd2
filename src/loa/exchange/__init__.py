"""Exchange with higher and lower information-source systems: inbox, API, connector (docs/exchange.md)."""
