"""Request ids on outbox rows and on the cases they opened (docs/ops/logging.md).

``notifications.request_id``: the HTTP request that caused the notice (a manual escalation),
or the one that opened the case (the scheduler's notices); the worker logs its delivery
under it. ``cases.opened_request_id``: the request that opened the case. Both nullable: rows
written before, or by the CLI, have none. Plain ADD COLUMN (no batch copy), as in 0005.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 23:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("notifications", sa.Column("request_id", sa.String(64), nullable=True))
    op.add_column("cases", sa.Column("opened_request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    op.drop_column("cases", "opened_request_id")
    op.drop_column("notifications", "request_id")
