"""Knowledge search by device model and category in one index term (issue 16 §7).

Every entry of a model and category now also holds the facet term of the pair
(``core.store.knowledge.model_category_facet``), so a search with both filters (``GET
/knowledge?model=&category=``) asks the word index for "these words AND this pair" instead
of reading every entry of the model to drop the other categories (docs/benchmarks.md,
"Knowledge search"). Entries written before get the term appended to ``terms``; the
PostgreSQL tsvector column is generated from it, the SQLite FTS5 table follows by its
update trigger.

``ix_kb_entries_newest`` (device_model, category, created_at, id) serves the past fixes
shown on a case: the newest entries of one model and category, read backwards. Ordered by
``created_at``, which no other index provides, the planner cannot walk the primary key
backwards instead and filter (cheap while the pair's entries are recent, a scan of most of
the table for a model whose entries are all old).

Revision ID: 0022
Revises: 0023
Create Date: 2026-12-06 00:40:00.000000
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0023"
branch_labels = None
depends_on = None

PAIRS = sa.text(
    "SELECT DISTINCT device_model, category FROM kb_entries "
    "WHERE device_model IS NOT NULL AND device_model <> '' "
    "AND category IS NOT NULL AND category <> ''"
)
ADD = sa.text(
    "UPDATE kb_entries SET terms = terms || :facet || ' ' "
    "WHERE device_model = :model AND category = :category AND terms NOT LIKE :has"
)
REMOVE = sa.text(
    "UPDATE kb_entries SET terms = replace(terms, ' ' || :facet || ' ', ' ') "
    "WHERE device_model = :model AND category = :category"
)


def model_category_facet(model: str, category: str) -> str:
    """The term as core.kbtext.facet("p", model NUL category) makes it, written out here so
    that this migration keeps meaning what it did (tests/test_migrations.py compares)."""
    value = f"{model}\x00{category}"
    return "zzkbp" + hashlib.sha256(f"p\x00{value}".encode()).hexdigest()[:16]


def _pairs() -> list[tuple[str, str]]:
    return [(row[0], row[1]) for row in op.get_bind().execute(PAIRS)]


def upgrade() -> None:
    op.create_index(
        "ix_kb_entries_newest", "kb_entries", ["device_model", "category", "created_at", "id"]
    )
    bind = op.get_bind()
    for model, category in _pairs():
        facet = model_category_facet(model, category)
        bind.execute(ADD, {"facet": facet, "model": model, "category": category,
                           "has": f"% {facet} %"})  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_kb_entries_newest", table_name="kb_entries")
    bind = op.get_bind()
    for model, category in _pairs():
        facet = model_category_facet(model, category)
        bind.execute(REMOVE, {"facet": facet, "model": model, "category": category})
