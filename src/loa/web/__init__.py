"""Web plumbing shared by every domain: templates, dependencies, error pages (the menu is composition:
``loa.navigation``)."""
