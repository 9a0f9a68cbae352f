"""Persistence: SQLAlchemy tables, migrations, history, queries, audit, tokens, secrets."""
