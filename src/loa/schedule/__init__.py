"""Scheduling: recurrence, the priority ladder, pre-emption, conflicts and per-device manifest compilation.

Pure logic only (no database, no I/O): the service layer loads a ``snapshot`` and feeds ``compiler``.
"""
