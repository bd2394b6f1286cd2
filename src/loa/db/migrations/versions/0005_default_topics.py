"""default topics seeded by the upgrade

Topics used to be inserted by the first page that listed them, so a GET request wrote to the
database (and had to commit). The defaults are now data of the schema: this revision inserts every
default topic whose code is missing, and leaves alone the ones present (renamed or switched off by
an administrator). The list is copied here, not imported, so that this revision keeps meaning what
it meant when it was written.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFAULT_TOPICS: tuple[tuple[str, str, str], ...] = (
    ("cchc", "Cải cách hành chính", "CCHC"),
    ("chinh-sach-phap-luat", "Chính sách, pháp luật", ""),
    ("nong-nghiep", "Nông nghiệp, nông thôn mới", ""),
    ("y-te", "Y tế, chăm sóc sức khỏe", ""),
    ("giao-duc", "Giáo dục", ""),
    ("phong-chong-thien-tai", "Phòng chống thiên tai", ""),
    ("an-ninh-trat-tu", "An ninh, trật tự", ""),
    ("van-hoa-xa-hoi", "Văn hóa, xã hội", ""),
    ("chuyen-doi-so", "Chuyển đổi số", "CĐS"),
    ("dan-toc-ton-giao", "Dân tộc, tôn giáo", ""),
)

topics = sa.table(
    "activity_topics",
    sa.column("code", sa.String),
    sa.column("name", sa.String),
    sa.column("abbreviation", sa.String),
    sa.column("active", sa.Boolean),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    bind = op.get_bind()
    present = set(bind.scalars(sa.select(topics.c.code)))
    now = datetime.now(UTC)
    missing = [
        {"code": code, "name": name, "abbreviation": abbreviation, "active": True, "created_at": now}
        for code, name, abbreviation in DEFAULT_TOPICS
        if code not in present
    ]
    if missing:
        op.bulk_insert(topics, missing)


def downgrade() -> None:
    # The rows stay: they are what the previous revision's code inserted on first use anyway, and
    # bulletins, programmes and register entries may refer to them.
    pass
