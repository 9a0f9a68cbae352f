"""History seals: HMAC columns on events, case heads and numbering counters (docs/audit.md).

Plain ADD COLUMN (no batch copy): on SQLite a table copy would drop case_events' append-only
triggers. Existing rows stay unsealed here; `casetrack audit seal` seals the case heads and
counters that verify intact (the migration has no business reading the audit key).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("case_events", sa.Column("mac", sa.String(length=64), nullable=True))
    op.add_column("cases", sa.Column("head_mac", sa.String(length=64), nullable=True))
    op.add_column("case_counters", sa.Column("mac", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # SQLite >= 3.35 drops a column in place; case_events keeps its triggers
    op.drop_column("case_counters", "mac")
    op.drop_column("cases", "head_mac")
    op.drop_column("case_events", "mac")
