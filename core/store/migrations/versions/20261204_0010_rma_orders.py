"""Vendor RMA orders: one row per idempotency key, polled by the scheduler (issue 13).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 23:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rma_orders",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("case_number", sa.String(length=32), nullable=False),
        sa.Column("channel", sa.String(length=64), nullable=False),
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=False),
        sa.Column("vendor_case", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("raw_status", sa.String(length=64), nullable=True),
        sa.Column("promise_ship_by", sa.DateTime(timezone=True), nullable=True),
        sa.Column("promise_rule", sa.Text(), nullable=True),
        sa.Column("carrier", sa.String(length=64), nullable=True),
        sa.Column("waybill", sa.String(length=64), nullable=True),
        sa.Column("spare_request_id", sa.Integer(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_rma_orders_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rma_orders")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_rma_orders_idempotency_key")),
    )
    op.create_index("ix_rma_orders_next_poll_at", "rma_orders", ["next_poll_at"])
    op.create_index("ix_rma_orders_case", "rma_orders", ["case_id", "id"])
    op.create_index("ix_rma_orders_vendor_case", "rma_orders", ["channel", "vendor_case"])


def downgrade() -> None:
    op.drop_index("ix_rma_orders_vendor_case", table_name="rma_orders")
    op.drop_index("ix_rma_orders_case", table_name="rma_orders")
    op.drop_index("ix_rma_orders_next_poll_at", table_name="rma_orders")
    op.drop_table("rma_orders")
