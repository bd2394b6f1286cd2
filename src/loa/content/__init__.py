"""Bulletins (thông tin nguồn): writing, language renditions, review workflow, revisions, publishing."""
