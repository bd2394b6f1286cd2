"""Web plumbing shared by every domain: templates, dependencies, error pages, navigation."""
