"""Periodic reports sent to customers (issue 15 §4): one row per contract and period, the
claim that makes two schedulers send it once, and the record kept for problem management.

Revision ID: 0016
Revises: 0011
Create Date: 2026-12-05 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None

# as core.store.orm.REPORT_FACTS_WHERE says it today (a migration keeps its own copy)
REPORT_FACTS_WHERE = "kind IN ('first_response', 'reopened', 'onsite_arrived', 'rma_updated')"


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("period_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(64), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("pdf_sha256", sa.String(64), nullable=True),
        sa.Column("figures", sa.JSON(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_report_runs")),
        sa.UniqueConstraint("contract_id", "period", name="uq_report_runs_contract_period"),
    )
    # a contract's cases opened in a period: every section of a report starts from it
    op.create_index("ix_cases_contract_opened", "cases", ["contract_id", "opened_at"])
    # a case's first response, re-opens, on-site arrivals and RMA updates, without the rest
    where = sa.text(REPORT_FACTS_WHERE)
    op.create_index(
        "ix_case_events_report_facts",
        "case_events",
        ["case_id", "kind", "at"],
        sqlite_where=where,
        postgresql_where=where,
    )
    op.create_index(
        "ix_report_runs_state", "report_runs", ["state", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_report_runs_state", table_name="report_runs")
    op.drop_table("report_runs")
    op.drop_index("ix_case_events_report_facts", table_name="case_events")
    op.drop_index("ix_cases_contract_opened", table_name="cases")
