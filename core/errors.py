"""The core's exception types; the HTTP layer maps them to RFC 9457 problem details."""

from __future__ import annotations

from dataclasses import dataclass


class CasetrackError(Exception):
    """Base of every error casetrack raises on purpose; `detail` is safe to show a user."""

    title = "casetrack error"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# --- the two families: every CasetrackError is one or the other --------------------------------


class ClientError(CasetrackError):
    """The request is at fault: what was asked, with what, or by whom (HTTP 4xx). Sending the
    same request again fails the same way; changing it can succeed."""

    title = "invalid request"


class ServerError(CasetrackError):
    """The server is at fault: its configuration, a key, a plugin, a dependency (HTTP 500).
    The request may be fine; an operator has to act."""

    title = "server error"


class Unavailable(ServerError):
    """The server cannot answer now but will (HTTP 503 with Retry-After), e.g. a database
    schema behind the code until `casetrack db upgrade`."""

    title = "service unavailable"


# --- calendars -------------------------------------------------------------------------------


class CalendarError(ClientError, ValueError):
    """A calendar was asked something it cannot answer."""

    title = "calendar error"


class NaiveDatetimeError(CalendarError):
    """A datetime without a time zone was given where an instant is needed."""

    title = "naive datetime"


class NoOpenTimeError(CalendarError):
    """The calendar has no open time within reach of the request (it would loop forever)."""

    title = "no open time"


class CalendarDataMissing(CalendarError):
    """A region needs holiday data for a year that no plugin or YAML file provides."""

    title = "calendar data missing"

    def __init__(self, region: str, year: int, detail: str | None = None) -> None:
        super().__init__(
            detail
            or f"no holiday data for region {region!r} in {year}: add contracts/calendars/"
            f"{region.lower()}-{year}.yaml (see docs/calendars.md) or set assume-weekdays"
        )
        self.region = region
        self.year = year


# --- contracts -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong in a contract file, located as precisely as we can."""

    file: str
    line: int | None
    column: int | None
    path: str  # YAML path such as $.devices[2].tier
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}"


class ContractError(ClientError):
    """One or more contract files are invalid; `problems` lists every one found."""

    title = "invalid contract"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid contract")


# --- commands --------------------------------------------------------------------------------


class InvalidField(ClientError, ValueError):
    """One field of a request is missing or does not fit the others (a rule a schema cannot
    say, e.g. a ticket number required for some targets only); ``field`` names it as a
    JSON path (``$.ticket``). Answered like any other invalid request field."""

    title = "invalid request"

    def __init__(self, field: str, message: str) -> None:
        self.field = field if field.startswith("$") else f"$.{field}"
        self.message = message
        super().__init__(f"{self.field}: {message}")


class ImplausibleTime(InvalidField):
    """A time a request reports that cannot be true for this case: an appointment long over
    or a year away, a confirmation before the case opened or later than now (core.instants)."""

    title = "implausible time"


# --- lookups, plugins, SLA -------------------------------------------------------------------


class NotFoundError(ClientError):
    """A named thing (contract, device, tier, case) does not exist."""

    title = "not found"


class ConflictError(ClientError):
    """The request conflicts with the current state (e.g. a concurrent update)."""

    title = "conflict"


class PluginError(ServerError):
    """A plugin misbehaved or is missing; names the plugin at fault."""

    title = "plugin error"

    def __init__(self, plugin: str, detail: str) -> None:
        super().__init__(f"plugin {plugin!r}: {detail}")
        self.plugin = plugin


class SlaError(ClientError):
    """A deadline cannot be computed as asked (e.g. a tier not offered in that zone)."""

    title = "SLA rule does not apply"


# --- queries ---------------------------------------------------------------------------------


class InvalidQuery(ClientError, ValueError):
    """A list or search was asked with arguments out of bounds (e.g. a page size of 0)."""

    title = "invalid query"


class InvalidCursor(ClientError):
    """A pagination cursor is garbled, tampered with, or belongs to another ordering."""

    title = "invalid cursor"


# --- secrets ---------------------------------------------------------------------------------


class SecretKeyError(ServerError):
    """The credential key is missing or not a valid Fernet key (see core.store.secrets)."""

    title = "secret key error"


class CredentialsUnreadable(ServerError):
    """Stored credentials cannot be decrypted with the configured key(s)."""

    title = "credentials unreadable"


class AuditKeyError(ServerError):
    """The audit key is missing, too short, unreadable or readable by others (core.store.seal)."""

    title = "audit key error"


# --- access ----------------------------------------------------------------------------------


class Forbidden(ClientError):
    """The actor may not do this (e.g. see credentials without being the assigned engineer)."""

    title = "forbidden"
