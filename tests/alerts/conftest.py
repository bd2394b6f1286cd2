"""Alerts are tested in the fleet's small world (two communes, their people and loudspeakers), on
each broker the fleet tests use."""

from tests.fleet.conftest import broker_kind, web, world_engine

__all__ = ["broker_kind", "web", "world_engine"]
