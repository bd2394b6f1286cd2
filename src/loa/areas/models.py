"""The tables of administrative units live in ``loa.units.models`` (below ``loa.accounts``, which scopes
people to them). This alias is kept only for the modules of other branches in flight (reports, fleet,
speech.overrides) that still import them from here; once they import ``loa.units.models``, delete it.
"""

from __future__ import annotations

from loa.units.models import AdminUnit, AreaLineage, LineageChange, Station, UnitKind

__all__ = ["AdminUnit", "AreaLineage", "LineageChange", "Station", "UnitKind"]
