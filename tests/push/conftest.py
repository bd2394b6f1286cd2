"""The exchange tests' world (a lower system with a connected higher one), for the inbox's pushes."""

from tests.exchange.conftest import lower, sessions, speech, upper_caller

__all__ = ["lower", "sessions", "speech", "upper_caller"]
