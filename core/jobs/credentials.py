"""An outbox row keeps no credential once it is final: the survey notice's ``link`` carries
the survey's single-use token (core.surveys), so when the row is ``sent``, ``failed``,
``dead`` or ``dropped`` its link is replaced by ``REMOVED``. Until then the row keeps it, so
automatic retries (a transient failure queues the row again) send the same link; a manual
retry of a row whose link is gone is refused (core.jobs.outbox): the token exists nowhere
else, and a new one would void the link the other channel sent."""

from __future__ import annotations

from collections.abc import Iterable

from core.case import NotificationState
from core.store import orm
from core.surveys import SURVEY_TEMPLATE

S = NotificationState
FINAL: frozenset[str] = frozenset({S.SENT, S.FAILED, S.DEAD, S.DROPPED})
# by template: the variables that are credentials
CREDENTIALS: dict[str, tuple[str, ...]] = {SURVEY_TEMPLATE: ("link",)}
REMOVED = "(removed once final: the link is a credential)"


def scrub(rows: Iterable[orm.Notification]) -> None:
    """Replace the credentials of the final rows among ``rows`` (in the caller's transaction)."""
    for row in rows:
        names = CREDENTIALS.get(row.template, ())
        if not names or row.state not in FINAL or not row.variables:
            continue
        if any(row.variables.get(n) not in (None, REMOVED) for n in names):
            row.variables = {**row.variables, **dict.fromkeys(names, REMOVED)}  # a new dict


def scrubbed(row: orm.Notification) -> bool:
    """Whether the row's credentials were removed (it cannot be sent again)."""
    names = CREDENTIALS.get(row.template, ())
    return any((row.variables or {}).get(n) == REMOVED for n in names)
