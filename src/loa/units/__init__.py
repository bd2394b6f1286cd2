"""Administrative units as data, below everyone who acts on them: the tables (units, their lineage
across reorganisations, radio stations) and the pure rules of their materialised paths.

``loa.accounts`` scopes people to these units and ``loa.areas`` (the area pages, the picker, villages
and stations as people edit them) builds on both, so this package imports neither.
"""
