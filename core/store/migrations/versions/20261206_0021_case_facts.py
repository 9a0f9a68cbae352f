"""The report's per-case facts (issue 15 §5): ``case_facts``, one narrow row per case, and
``clock_facts``, one per SLA clock with its case's contract and opening instant, so the
all-customers report reads no event and joins no clock (core.store.case_facts keeps them in
step from now on). Backfilled here from the cases, their events and clocks, in SQL.

Revision ID: 0021
Revises: 0022
Create Date: 2026-12-06 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0022"
branch_labels = None
depends_on = None


def _epoch(column: str, dialect: str) -> str:
    """Whole epoch seconds, floored, as core.store.case_facts.epoch computes them."""
    if dialect == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


# a migration keeps its own copy of the statements core.store.case_facts builds today
# (tests/test_case_facts.py checks that both give the same rows)
CASE_FACTS = """
INSERT INTO case_facts (case_id, contract_id, opened_at, priority, category, channel, zone,
    request_type, emergency, breached, resolved_at, closed_at, first_response_s, resolution_s,
    reopens, visits)
SELECT c.id, c.contract_id, c.opened_at, c.priority, c.category, c.channel, c.zone,
    c.request_type, c.emergency, c.breached, c.resolved_at, c.closed_at,
    h.first_response - {opened},
    CASE WHEN c.resolved_at IS NOT NULL THEN {resolved} - {opened} END,
    COALESCE(h.reopens, 0), COALESCE(h.visits, 0)
FROM cases c LEFT OUTER JOIN (
    SELECT case_id,
        MIN(CASE WHEN kind = 'first_response' THEN {at} END) AS first_response,
        SUM(CASE WHEN kind = 'reopened' THEN 1 ELSE 0 END) AS reopens,
        SUM(CASE WHEN kind = 'onsite_arrived' THEN 1 ELSE 0 END) AS visits
    FROM case_events
    WHERE kind IN ('first_response', 'reopened', 'onsite_arrived')
    GROUP BY case_id
) h ON h.case_id = c.id
"""
CLOCK_FACTS = """
INSERT INTO clock_facts (clock_id, case_id, contract_id, opened_at, kind, state, deadline,
    marked, pauses, exclusion_cause)
SELECT k.id, k.case_id, c.contract_id, c.opened_at, k.kind, k.state, k.deadline,
    CASE WHEN k.state = 'breached' OR k.breached_at IS NOT NULL THEN {true} ELSE {false} END,
    COALESCE(json_array_length(k.pauses), 0)
        + CASE WHEN k.paused_at IS NOT NULL THEN 1 ELSE 0 END,
    k.exclusion_cause
FROM sla_clocks k JOIN cases c ON c.id = k.case_id
"""


def upgrade() -> None:
    op.create_table(
        "case_facts",
        sa.Column("case_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("priority", sa.String(2), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("zone", sa.String(32), nullable=True),
        sa.Column("request_type", sa.String(32), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_response_s", sa.Integer(), nullable=True),
        sa.Column("resolution_s", sa.Integer(), nullable=True),
        sa.Column("reopens", sa.Integer(), nullable=False),
        sa.Column("visits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_facts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_facts")),
    )
    op.create_table(
        "clock_facts",
        sa.Column("clock_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("marked", sa.Boolean(), nullable=False),
        sa.Column("pauses", sa.Integer(), nullable=False),
        sa.Column("exclusion_cause", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_clock_facts_case_id_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("clock_id", name=op.f("pk_clock_facts")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(
        CASE_FACTS.format(
            opened=_epoch("c.opened_at", dialect),
            resolved=_epoch("c.resolved_at", dialect),
            at=_epoch("at", dialect),
        )
    )
    op.execute(CLOCK_FACTS.format(true="TRUE", false="FALSE"))
    # indexes after the backfill: built once instead of maintained row by row
    op.create_index("ix_case_facts_contract_opened", "case_facts", ["contract_id", "opened_at"])
    op.create_index("ix_clock_facts_case", "clock_facts", ["case_id"])
    op.create_index("ix_clock_facts_contract_opened", "clock_facts", ["contract_id", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_clock_facts_contract_opened", table_name="clock_facts")
    op.drop_index("ix_clock_facts_case", table_name="clock_facts")
    op.drop_table("clock_facts")
    op.drop_index("ix_case_facts_contract_opened", table_name="case_facts")
    op.drop_table("case_facts")
