"""Indexes for the console queues and the managers' board (issue 14): a person's (or the
unassigned) open cases by next deadline (partial: open cases only), a status's cases by next
deadline, open cases by status and priority, and clocks by deadline (covering) for this
month's SLA compliance.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # the statuses of core.case.OPEN_STATUSES, spelt as core.store.orm.OPEN_CASES_SQL (frozen
    # here: a migration does not change when the code does)
    open_cases = sa.text(
        "status IN ('assigned', 'in_progress', 'new', 'pending_customer', 'pending_vendor')"
    )
    op.create_index(
        "ix_cases_open_assignee",
        "cases",
        ["assignee", "next_deadline", "id"],
        sqlite_where=open_cases,
        postgresql_where=open_cases,
    )
    unassigned = sa.text(f"{open_cases.text} AND assignee IS NULL")
    op.create_index(
        "ix_cases_open_unassigned",
        "cases",
        ["next_deadline", "id"],
        sqlite_where=unassigned,
        postgresql_where=unassigned,
    )
    op.create_index("ix_cases_status_deadline", "cases", ["status", "next_deadline", "id"])
    op.create_index("ix_cases_status_priority", "cases", ["status", "priority"])
    # covering: the board's month of clocks is counted by an index-only scan
    op.create_index(
        "ix_sla_clocks_deadline",
        "sla_clocks",
        ["deadline", "kind", "state", "case_id", "breached_at", "exclusion_cause"],
    )


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_deadline", table_name="sla_clocks")
    op.drop_index("ix_cases_status_priority", table_name="cases")
    op.drop_index("ix_cases_status_deadline", table_name="cases")
    op.drop_index("ix_cases_open_unassigned", table_name="cases")
    op.drop_index("ix_cases_open_assignee", table_name="cases")
