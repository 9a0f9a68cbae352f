"""Maintenance documents the scheduler e-mails (issue 16 §2, docs/documents.md): one row per
contract, kind (``stage``: the stage report at contract end; ``summary``: a periodic service
summary) and period, the claim that makes two schedulers send it once, and the record kept.

Revision ID: 0023
Revises: 0020
Create Date: 2026-12-06 01:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document_runs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
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
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_runs")),
        sa.UniqueConstraint(
            "contract_id", "kind", "period", name="uq_document_runs_contract_kind_period"
        ),
    )
    op.create_index("ix_document_runs_state", "document_runs", ["state", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_document_runs_state", table_name="document_runs")
    op.drop_table("document_runs")
