"""Input limits in one table: the database columns (core.orm) and the command Structs
(core.commands) read their text lengths here, so an API field never takes more than its column
keeps. tests/test_hostile_input.py holds the migrated columns of both back ends to it."""

from __future__ import annotations

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

# --- text kept only inside event payloads (JSON): our own bounds ------------------------------

TEXT = 4000  # notes, findings, reasons, descriptions
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
