"""Spare-part requests on a case and the device records (issue 13 §1).

Two new tables, nothing copied: ``devices`` (serials we know, replacements linked to the
device they replaced) and ``spare_requests`` (a case's spare parts, their steps and clocks).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 23:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=True),
        sa.Column("site", sa.String(500), nullable=True),
        sa.Column("zone", sa.String(32), nullable=True),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("predecessor_serial", sa.String(64), nullable=True),
        sa.Column("replaced_by", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("serial", name=op.f("uq_devices_serial")),
    )
    op.create_table(
        "spare_requests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("request", sa.Integer(), nullable=False),
        sa.Column("device_serial", sa.String(64), nullable=True),
        sa.Column("part", sa.String(500), nullable=False),
        sa.Column("mode", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("tier", sa.String(64), nullable=True),
        sa.Column("chargeable", sa.Boolean(), nullable=False),
        sa.Column("price_basis", sa.String(32), nullable=True),
        sa.Column("vendor", sa.String(200), nullable=True),
        sa.Column("vendor_case", sa.String(100), nullable=True),
        sa.Column("rma_number", sa.String(100), nullable=True),
        sa.Column("carrier", sa.String(200), nullable=True),
        sa.Column("waybill", sa.String(100), nullable=True),
        sa.Column("new_serial", sa.String(64), nullable=True),
        sa.Column("ship_clock_id", sa.Integer(), nullable=True),
        sa.Column("arrival_clock_id", sa.Integer(), nullable=True),
        sa.Column("return_clock_id", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_spare_requests_case_id_cases"),
            ondelete="RESTRICT",
        ),
        *(
            sa.ForeignKeyConstraint(
                [column],
                ["sla_clocks.id"],
                name=op.f(f"fk_spare_requests_{column}_sla_clocks"),
                ondelete="RESTRICT",
            )
            for column in ("ship_clock_id", "arrival_clock_id", "return_clock_id")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_spare_requests")),
        sa.UniqueConstraint("case_id", "request", name="uq_spare_requests_case_request"),
    )


def downgrade() -> None:
    op.drop_table("spare_requests")
    op.drop_table("devices")
