"""Cases opened on purpose outside their contract (chargeable, no SLA clocks).

Plain ADD COLUMN (no batch copy), as in 0005: on SQLite a copy of ``cases`` would trip the
foreign keys of its events and clocks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 22:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "cases",
        sa.Column("out_of_contract", sa.Boolean(), server_default=sa.false(), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("cases", "out_of_contract")
