"""The console's "mine" for the service desk (issue 14): the cases a person opened, found by
the actor of their `opened` event without reading the rest of the history.

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0017"
branch_labels = None
depends_on = None

OPENED = sa.text("kind = 'opened'")


def upgrade() -> None:
    op.create_index(
        "ix_case_events_opened_by",
        "case_events",
        ["actor", "case_id"],
        sqlite_where=OPENED,
        postgresql_where=OPENED,
    )


def downgrade() -> None:
    op.drop_index("ix_case_events_opened_by", table_name="case_events")
