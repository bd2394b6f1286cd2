from __future__ import annotations

import pytest

from tests.fleet.harness import broker_kinds


@pytest.fixture(params=broker_kinds())
def broker_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind
