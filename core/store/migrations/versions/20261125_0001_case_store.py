"""Case store: cases, SLA clocks, append-only hash-chained history, counters, secrets.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:53:24.162505
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "case_counters",
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "year", name=op.f("pk_case_counters")),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("number", sa.String(length=32), nullable=False),
        sa.Column("contract_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("caller_name", sa.String(length=200), nullable=False),
        sa.Column("caller_company", sa.String(length=200), nullable=True),
        sa.Column("caller_phone", sa.String(length=64), nullable=True),
        sa.Column("caller_email", sa.String(length=200), nullable=True),
        sa.Column("caller_address", sa.String(length=500), nullable=True),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("request_type", sa.String(length=32), nullable=False),
        sa.Column("priority", sa.String(length=2), nullable=False),
        sa.Column("emergency", sa.Boolean(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("device_serial", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=500), nullable=True),
        sa.Column("zone", sa.String(length=32), nullable=True),
        sa.Column("appointment_start", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_end", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("assignee", sa.String(length=100), nullable=True),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_deadline", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached", sa.Boolean(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
        sa.UniqueConstraint("number", name=op.f("uq_cases_number")),
    )
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.create_index("ix_cases_breached_keyset", ["breached", "id"], unique=False)
        batch_op.create_index("ix_cases_contract", ["contract_id"], unique=False)
        batch_op.create_index("ix_cases_customer_keyset", ["customer_id", "id"], unique=False)
        batch_op.create_index("ix_cases_next_deadline", ["next_deadline", "id"], unique=False)
        batch_op.create_index("ix_cases_priority_keyset", ["priority", "id"], unique=False)
        batch_op.create_index("ix_cases_status_keyset", ["status", "id"], unique=False)

    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("actor", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_case_events_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_events")),
        sa.UniqueConstraint("case_id", "seq", name="uq_case_events_case_seq"),
    )
    op.create_table(
        "case_secrets",
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stored_by", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_case_secrets_case_id_cases")
        ),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_case_secrets")),
    )
    op.create_table(
        "sla_clocks",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("calendar", sa.String(length=64), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deadline", sa.DateTime(timezone=True), nullable=False),
        sa.Column("paused_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pause_cause", sa.String(length=200), nullable=True),
        sa.Column("pauses", sa.JSON(), nullable=False),
        sa.Column("met_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("exclusion_cause", sa.String(length=64), nullable=True),
        sa.Column("exclusion_note", sa.Text(), nullable=True),
        sa.Column("alert_level", sa.Integer(), nullable=False),
        sa.Column("next_alert_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_sla_clocks_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sla_clocks")),
    )
    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.create_index("ix_sla_clocks_case", ["case_id", "kind"], unique=False)
        batch_op.create_index(
            "ix_sla_clocks_next_alert_at",
            ["next_alert_at"],
            unique=False,
            sqlite_where=sa.text("next_alert_at IS NOT NULL"),
            postgresql_where=sa.text("next_alert_at IS NOT NULL"),
        )
    create_append_only_triggers()


APPEND_ONLY = "case_events is append-only: its rows can never be changed or deleted"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]

POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    """CREATE TRIGGER case_events_no_update BEFORE UPDATE OR DELETE ON case_events
        FOR EACH ROW EXECUTE FUNCTION case_events_append_only()""",
    """CREATE TRIGGER case_events_no_truncate BEFORE TRUNCATE ON case_events
        FOR EACH STATEMENT EXECUTE FUNCTION case_events_append_only()""",
]


def create_append_only_triggers() -> None:
    """The database itself refuses to change history, whoever connects (R-CASE)."""
    dialect = op.get_bind().dialect.name
    for statement in POSTGRES_TRIGGERS if dialect == "postgresql" else SQLITE_TRIGGERS:
        op.execute(statement)


def drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS case_events_no_truncate ON case_events")
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update ON case_events")
        op.execute("DROP FUNCTION IF EXISTS case_events_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS case_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS case_events_no_delete")


def downgrade() -> None:
    drop_append_only_triggers()

    with op.batch_alter_table("sla_clocks", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_sla_clocks_next_alert_at",
            sqlite_where=sa.text("next_alert_at IS NOT NULL"),
            postgresql_where=sa.text("next_alert_at IS NOT NULL"),
        )
        batch_op.drop_index("ix_sla_clocks_case")

    op.drop_table("sla_clocks")
    op.drop_table("case_secrets")
    op.drop_table("case_events")
    with op.batch_alter_table("cases", schema=None) as batch_op:
        batch_op.drop_index("ix_cases_status_keyset")
        batch_op.drop_index("ix_cases_priority_keyset")
        batch_op.drop_index("ix_cases_next_deadline")
        batch_op.drop_index("ix_cases_customer_keyset")
        batch_op.drop_index("ix_cases_contract")
        batch_op.drop_index("ix_cases_breached_keyset")

    op.drop_table("cases")
    op.drop_table("case_counters")
