"""Quality (R-QUAL, issue 15): satisfaction surveys, survey problems, complaints as their own
record with the cases they are about, corrective actions, the quarterly results sent; and
outbox rows about no one case (a quarterly result), so ``notifications.case_id`` may be null.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-05 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete="RESTRICT"
    )


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("current", sa.Boolean(), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("case_opened_at", TZ, nullable=False),
        sa.Column("case_closed_at", TZ, nullable=False),
        sa.Column("expires_at", TZ, nullable=False),
        sa.Column("used_at", TZ, nullable=True),
        sa.Column("answered_at", TZ, nullable=True),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("source", sa.String(16), nullable=True),
        sa.Column("entered_by", sa.String(100), nullable=True),
        sa.Column("signed_by", sa.String(200), nullable=True),
        sa.Column("signed_at", TZ, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        _fk("surveys", "case_id", "cases"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_surveys_token_hash")),
        sa.UniqueConstraint("case_id", "round", name="uq_surveys_case_round"),
    )
    op.create_index("ix_surveys_quarter", "surveys", ["contract_id", "current", "case_closed_at"])
    op.create_table(
        "survey_problems",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("survey_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("classification", sa.String(64), nullable=True),
        sa.Column("opened_at", TZ, nullable=False),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("closed_by", sa.String(100), nullable=True),
        sa.Column("conclusion", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_problems")),
        _fk("survey_problems", "survey_id", "surveys"),
        _fk("survey_problems", "case_id", "cases"),
    )
    op.create_index("ix_survey_problems_status", "survey_problems", ["status", "id"])
    op.create_table(
        "complaints",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(100), nullable=True),
        sa.Column("assignee", sa.String(100), nullable=True),
        sa.Column("received_at", TZ, nullable=False),
        sa.Column("replied_at", TZ, nullable=True),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
        _fk("complaints", "case_id", "cases"),
        sa.UniqueConstraint("case_id", name=op.f("uq_complaints_case_id")),
    )
    op.create_index("ix_complaints_contract", "complaints", ["contract_id", "received_at"])
    op.create_table(
        "complaint_cases",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("complaint_id", "case_id", name=op.f("pk_complaint_cases")),
        _fk("complaint_cases", "complaint_id", "complaints"),
        _fk("complaint_cases", "case_id", "cases"),
    )
    op.create_table(
        "corrective_actions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subject", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("due_on", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("done_at", TZ, nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_corrective_actions")),
    )
    op.create_index(
        "ix_corrective_actions_subject", "corrective_actions", ["subject", "subject_id"]
    )
    op.create_table(
        "quality_quarters",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("contract_id", sa.String(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("quarter", sa.Integer(), nullable=False),
        sa.Column("generated_at", TZ, nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("notices", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_quarters")),
        sa.UniqueConstraint("contract_id", "year", "quarter", name="uq_quality_quarters_period"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("case_id", existing_type=sa.Integer(), nullable=False)
    op.drop_table("quality_quarters")
    op.drop_index("ix_corrective_actions_subject", table_name="corrective_actions")
    op.drop_table("corrective_actions")
    op.drop_table("complaint_cases")
    op.drop_index("ix_complaints_contract", table_name="complaints")
    op.drop_table("complaints")
    op.drop_index("ix_survey_problems_status", table_name="survey_problems")
    op.drop_table("survey_problems")
    op.drop_index("ix_surveys_quarter", table_name="surveys")
    op.drop_table("surveys")
