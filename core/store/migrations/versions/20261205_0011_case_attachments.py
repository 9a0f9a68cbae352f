"""Files attached to cases (issue 13: signed on-site reports): which case may reference
which blob of the content-addressed store (core.store.blobs).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 00:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(40), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_attachments")),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_attachments_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.UniqueConstraint("case_id", "sha256", name=op.f("uq_case_attachments_case_id")),
    )
    op.create_index(
        op.f("ix_case_attachments_case_id"), "case_attachments", ["case_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_case_attachments_case_id"), table_name="case_attachments")
    op.drop_table("case_attachments")
