"""Input limits in one table: the database columns (core.store.orm) and the command Structs
(core.commands) read their text lengths here, so an API field never takes more than its column
keeps. tests/test_hostile_input.py holds the migrated columns of both back ends to it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

# --- text columns, in characters (VARCHAR(n): PostgreSQL refuses more, SQLite would keep it) --

IDENTIFIER = 64  # contract and customer ids, exclusion causes (as contracts spell them)
NAME = 200  # a person or company, an e-mail address, a checklist item
PHONE = 64
ADDRESS = 500  # a postal address, a site, a case summary
SERIAL = 64  # a device's serial number
ENGINEER = 100  # the assignee: the engineer's token name
CAUSE = 200  # why a case waits for the customer (pauses resolution)
CLOCK_KIND = 32  # first_response, resolution, ...
TOKEN_NAME = 80  # recorded as "<name> (token N)", at most 99 characters: actor columns take 100
LOGIN = 100  # a web user's login name
REQUEST_ID = 64  # an X-Request-ID (core.logs): cases.opened_request_id, notifications.request_id

# --- text kept only inside event payloads (JSON): our own bounds ------------------------------

TEXT = 4000  # notes, findings, reasons, descriptions
ARTICLE = 20_000  # a knowledge-base article's body
TICKET = 100  # another organisation's case number

# --- everything else ---------------------------------------------------------------------------

MAX_ID = 2**31 - 1  # INTEGER keys are 32-bit on PostgreSQL: a larger id is no row of ours
# PostgreSQL text cannot hold U+0000; every text field of a request carries this pattern
NO_NUL = r"^[^\x00]*$"
LATITUDE = 90.0
LONGITUDE = 180.0

# an appointment window, seen from the moment the case opens (docs/api.md, "Times")
APPOINTMENT_PAST = timedelta(days=1)  # a visit that started earlier today may still be logged
APPOINTMENT_HORIZON = timedelta(days=366)  # contracts run for a year


# --- reading YAML (core.sources.yamlsource) and waiting for PostgreSQL (core.store.db) ------


@dataclass(frozen=True)
class YamlLimits:
    """What one YAML file may cost to read (settings: ``CASETRACK_YAML_MAX_*``).

    Aliases repeat the node they name, so a few hundred bytes can stand for billions of
    nodes ("billion laughs"): the expanded size is counted while composing and refused
    before anything walks it.
    """

    max_bytes: int = 1_000_000  # the HTTP body limit too
    max_depth: int = 50  # nesting, counted through aliases; contracts use about 8
    max_aliases: int = 100
    max_nodes: int = 250_000  # after alias expansion
    max_seconds: float = 10.0  # a 1 MB contract parses in about 2 s on a slow core


@dataclass(frozen=True, slots=True)
class DbTimeouts:
    """Seconds; the defaults are ours (CASETRACK_DB_*_TIMEOUT override them)."""

    connect: float = 3.0  # open a connection (libpq counts whole seconds, at least 2)
    statement: float = 10.0  # the server cancels a statement running longer; 0: never
    pool: float = 5.0  # wait for a free pooled connection before giving up

    @property
    def answer(self) -> float | None:
        """How long the client waits for a reply before it gives the connection up: the
        statement's time plus the connect time for the way there and back. None: forever."""
        return self.statement + self.connect if self.statement > 0 else None
