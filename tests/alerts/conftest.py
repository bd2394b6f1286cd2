"""Alerts are tested in the fleet's small world (two communes, their people and loudspeakers)."""

from tests.fleet.conftest import web, world_engine

__all__ = ["web", "world_engine"]
