"""Users, roles scoped to administrative areas, sessions and API tokens, and the audit log."""
