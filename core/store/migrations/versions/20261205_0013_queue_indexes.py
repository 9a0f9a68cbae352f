"""Indexes for the console queues and the managers' board (issue 14): a person's (or the
unassigned) open cases by next deadline, a status's cases by next deadline, and clocks by
deadline for this month's SLA compliance.

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_assignee_deadline", "cases", ["assignee", "next_deadline", "id"])
    op.create_index("ix_cases_status_deadline", "cases", ["status", "next_deadline", "id"])
    op.create_index("ix_sla_clocks_deadline", "sla_clocks", ["deadline"])


def downgrade() -> None:
    op.drop_index("ix_sla_clocks_deadline", table_name="sla_clocks")
    op.drop_index("ix_cases_status_deadline", table_name="cases")
    op.drop_index("ix_cases_assignee_deadline", table_name="cases")
