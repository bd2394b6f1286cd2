"""Import every domain's models so that ``Base.metadata`` is complete (Alembic, tests)."""

from __future__ import annotations

import importlib

from loa.db.base import Base

# One line per domain package that has a models.py; keep alphabetical.
MODEL_MODULES: tuple[str, ...] = (
    "loa.accounts.models",
    "loa.activities.models",
    "loa.alerts.models",
    "loa.units.models",
    "loa.content.models",
    "loa.exchange.models",
    "loa.feedback.models",
    "loa.fleet.models",
    "loa.live.models",
    "loa.push.models",
    "loa.reports.models",
    "loa.schedule.models",
    "loa.speech.models",
    "loa.topics.models",
)


def load_all_models() -> type[Base]:
    for module in MODEL_MODULES:
        importlib.import_module(module)
    return Base
