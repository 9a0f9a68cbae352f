"""Device history and the knowledge base (issue 16 §4, §6).

``devices`` gains its operating environment and software version; ``device_events`` is the
append-only history of device changes; ``kb_entries`` holds resolved cases' problem, cause
and fix and engineers' articles. The search index is per back end: PostgreSQL a generated
``simple`` tsvector of ``terms`` with a GIN index, SQLite an FTS5 table with the trigram
tokenizer over ``terms`` (external content, kept in step by triggers).

Revision ID: 0019
Revises: 0016
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0016"
branch_labels = None
depends_on = None

APPEND_ONLY = "device_events is append-only: its rows can never be changed or deleted"

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER device_events_no_update BEFORE UPDATE ON device_events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
    f"""CREATE TRIGGER device_events_no_delete BEFORE DELETE ON device_events
        BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY}'); END""",
]
POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION device_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION '{APPEND_ONLY}' USING ERRCODE = 'integrity_constraint_violation';
        END $$""",
    """CREATE TRIGGER device_events_no_update BEFORE UPDATE OR DELETE ON device_events
        FOR EACH ROW EXECUTE FUNCTION device_events_append_only()""",
    """CREATE TRIGGER device_events_no_truncate BEFORE TRUNCATE ON device_events
        FOR EACH STATEMENT EXECUTE FUNCTION device_events_append_only()""",
]

# SQLite: FTS5 trigram over kb_entries.terms (external content), synced by triggers
SQLITE_SEARCH = [
    """CREATE VIRTUAL TABLE kb_fts USING fts5(
        terms, content='kb_entries', content_rowid='id', tokenize='trigram')""",
    """CREATE TRIGGER kb_fts_insert AFTER INSERT ON kb_entries BEGIN
        INSERT INTO kb_fts(rowid, terms) VALUES (new.id, new.terms); END""",
    """CREATE TRIGGER kb_fts_delete AFTER DELETE ON kb_entries BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, terms) VALUES ('delete', old.id, old.terms); END""",
    """CREATE TRIGGER kb_fts_update AFTER UPDATE OF terms ON kb_entries BEGIN
        INSERT INTO kb_fts(kb_fts, rowid, terms) VALUES ('delete', old.id, old.terms);
        INSERT INTO kb_fts(rowid, terms) VALUES (new.id, new.terms); END""",
]
POSTGRES_SEARCH = [
    """ALTER TABLE kb_entries ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, terms)) STORED""",
    "CREATE INDEX ix_kb_entries_search ON kb_entries USING gin (search_vector)",
]


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("environment", sa.Text(), nullable=True))
        batch.add_column(sa.Column("software_version", sa.String(200), nullable=True))
    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("serial", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("case_seq", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_events")),
    )
    op.create_index("ix_device_events_serial", "device_events", ["serial", "id"])
    _create_kb_entries()
    postgres = op.get_bind().dialect.name == "postgresql"
    for statement in (
        (POSTGRES_TRIGGERS + POSTGRES_SEARCH) if postgres else (SQLITE_TRIGGERS + SQLITE_SEARCH)
    ):
        op.execute(statement)


def _create_kb_entries() -> None:
    op.create_table(
        "kb_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=True),
        sa.Column("case_number", sa.String(32), nullable=True),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("problem", sa.Text(), nullable=True),
        sa.Column("cause", sa.Text(), nullable=True),
        sa.Column("fix", sa.Text(), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("device_model", sa.String(200), nullable=True),
        sa.Column("category", sa.String(32), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=True),
        sa.Column("visibility", sa.String(16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("terms", sa.Text(), nullable=False),
        sa.Column("author", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(100), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["cases.id"],
            name=op.f("fk_kb_entries_case_id_cases"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_entries")),
        sa.UniqueConstraint("case_id", name=op.f("uq_kb_entries_case_id")),
    )
    op.create_index(
        "ix_kb_entries_model_category", "kb_entries", ["device_model", "category", "id"]
    )
    op.create_index("ix_kb_entries_customer", "kb_entries", ["customer_id"])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS device_events_no_truncate ON device_events")
        op.execute("DROP TRIGGER IF EXISTS device_events_no_update ON device_events")
        op.execute("DROP FUNCTION IF EXISTS device_events_append_only()")
    else:
        for name in ("kb_fts_insert", "kb_fts_delete", "kb_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS kb_fts")
        op.execute("DROP TRIGGER IF EXISTS device_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS device_events_no_delete")
    op.drop_table("kb_entries")
    op.drop_table("device_events")
    with op.batch_alter_table("devices") as batch:
        batch.drop_column("software_version")
        batch.drop_column("environment")
