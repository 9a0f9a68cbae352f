"""Maintenance plans and service notices (issue 16): the inspections the scheduler opened
(unique per plan and occurrence) and the written notices of a hotline or contact change;
an outbox row may now be a notice to a contract's customer rather than about one case.

Revision ID: 0017
Revises: 0019
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("plan_id", sa.String(64), nullable=False),
        sa.Column("nominal_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_inspections_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint(
            "contract_id", "plan_id", "nominal_at", name="uq_inspections_occurrence"
        ),
    )
    op.create_index("ix_inspections_start", "inspections", ["start_at"], unique=False)
    op.create_table(
        "service_notices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("old_value", sa.String(500), nullable=False),
        sa.Column("new_value", sa.String(500), nullable=False),
        sa.Column("effective_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("announced_by", sa.String(100), nullable=False),
        sa.Column("forced", sa.Boolean(), nullable=False),
        sa.Column("force_reason", sa.Text(), nullable=True),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_notices")),
    )
    op.create_index(
        "ix_service_notices_contract", "service_notices", ["contract_id", "id"], unique=False
    )
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE case_id IS NULL")
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_service_notices_contract", table_name="service_notices")
    op.drop_table("service_notices")
    op.drop_index("ix_inspections_start", table_name="inspections")
    op.drop_table("inspections")
