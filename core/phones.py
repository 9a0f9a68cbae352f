"""Phone numbers: parsed with libphonenumber (``phonenumbers``), normalised to E.164, shown in
national or international format, and sorted into the kinds that can or cannot take an SMS.

A number without ``+`` is read as a mainland number (``DEFAULT_REGION``): ``13906310001``,
``0631-5812345`` (landline with its area code), ``0086 139 0631 0001``. Hong Kong (+852) and
Macau (+853) numbers, and any other country's, are written with their country code;
``+852 6123 0001`` and ``+85261230001`` are the same number. Whether a number is valid, and
whether it is a mobile or a landline, is libphonenumber's numbering-plan data, not ours.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from core.errors import ServerError

__all__ = [
    "DEFAULT_REGION",
    "NotAMobileNumber",
    "PhoneNumber",
    "PhoneNumberError",
    "contact_problems",
    "parse_mobile",
    "parse_phone",
    "phone_problem",
]

# the desk serves mainland customers: a number written without a country code is theirs
DEFAULT_REGION = "CN"
UNKNOWN_REGION = "ZZ"  # libphonenumber's answer for a country code it does not know
REGION_NAMES = {"CN": "mainland", "HK": "Hong Kong", "MO": "Macau"}

# what people put between digits: spaces, hyphens, dots, brackets, slashes (full-width ones
# are folded to ASCII by NFKC first); anything else (letters, extensions) is refused, because
# libphonenumber would read letters as a keypad's digits and ignore trailing text
_WRITTEN = re.compile(r"^\+?[0-9\s\-.()/]+$")

KINDS: dict[int, str] = {
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE: "landline",
    # libphonenumber cannot tell them apart in some plans (US, Canada): SMS is attempted
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "mobile or landline",
    PhoneNumberType.TOLL_FREE: "service number (400/800 line)",
    PhoneNumberType.SHARED_COST: "service number (400/800 line)",
    PhoneNumberType.PREMIUM_RATE: "premium-rate number",
    PhoneNumberType.UAN: "service number",
    PhoneNumberType.VOIP: "VoIP number",
    PhoneNumberType.PERSONAL_NUMBER: "personal number",
    PhoneNumberType.PAGER: "pager number",
    PhoneNumberType.VOICEMAIL: "voicemail number",
}
SMS_KINDS = frozenset({"mobile", "mobile or landline"})


class PhoneNumberError(ServerError, ValueError):
    """A phone number that cannot be used: empty, malformed, not a number anywhere, or (for
    SMS) of the wrong kind. A server error: the number comes from our own files or records."""

    title = "invalid phone number"

    def __init__(self, raw: str | None, detail: str) -> None:
        super().__init__(detail)
        self.raw = raw


class NotAMobileNumber(PhoneNumberError):
    """A valid number that is not a mobile one (landline, 400/800 line): it cannot take SMS."""

    title = "not a mobile number"


@dataclass(frozen=True, slots=True)
class PhoneNumber:
    """A valid number: E.164, its region (CN, HK, MO...), kind, and both display formats."""

    e164: str  # +8613906310001
    region: str
    kind: str  # a value of KINDS
    national: str  # 139 0631 0001, 0631 581 2345, 6123 0001
    international: str  # +86 139 0631 0001, +86 631 581 2345, +852 6123 0001

    @property
    def digits(self) -> str:
        """E.164 without the ``+``: country code then national number."""
        return self.e164[1:]

    @property
    def can_take_sms(self) -> bool:
        return self.kind in SMS_KINDS

    @property
    def described(self) -> str:
        """``mainland landline``, ``Hong Kong mobile``, ``US mobile or landline``."""
        return f"{REGION_NAMES.get(self.region, self.region)} {self.kind}"


def parse_phone(raw: str | None, region: str = DEFAULT_REGION) -> PhoneNumber:
    """Any valid number; raises PhoneNumberError saying what is wrong with it."""
    if raw is None or not raw.strip():
        raise PhoneNumberError(raw, "no phone number: none is on record")
    # NFKC folds full-width digits and ＋ typed with a Chinese input method to ASCII
    text = unicodedata.normalize("NFKC", raw).strip()
    if not _WRITTEN.match(text):
        raise PhoneNumberError(
            raw, f"{raw!r} is not a phone number (only digits, a leading + and separators)"
        )
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException as exc:
        raise PhoneNumberError(raw, _unparsable(raw, exc)) from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneNumberError(raw, _invalid(raw, text, parsed, region))
    return PhoneNumber(
        e164=phonenumbers.format_number(parsed, PhoneNumberFormat.E164),
        region=phonenumbers.region_code_for_number(parsed) or "",
        kind=KINDS.get(phonenumbers.number_type(parsed), "number of unknown kind"),
        national=phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL),
        international=phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL),
    )


def parse_mobile(raw: str | None, region: str = DEFAULT_REGION) -> PhoneNumber:
    """A number that can take an SMS; NotAMobileNumber for a valid number of another kind."""
    number = parse_phone(raw, region)
    if not number.can_take_sms:
        raise NotAMobileNumber(
            raw, f"{raw!r} is a {number.described}, not a mobile number: it cannot receive SMS"
        )
    return number


def phone_problem(raw: str, *, mobile: bool = False) -> str | None:
    """What is wrong with ``raw`` as a phone (``mobile``: as an SMS destination), or None."""
    try:
        (parse_mobile if mobile else parse_phone)(raw)
    except PhoneNumberError as exc:
        return exc.detail
    return None


def contact_problems(phone: str | None, mobile: str | None) -> list[tuple[str, str]]:
    """``(field, message)`` for a person's ``phone`` (any valid number) and ``mobile`` (one
    that can take an SMS): the rule staff and contract files share."""
    found = []
    for field, raw, sms in (("phone", phone, False), ("mobile", mobile, True)):
        message = None if raw is None else phone_problem(raw, mobile=sms)
        if message is not None:
            found.append((field, message))
    return found


def _unparsable(raw: str, exc: NumberParseException) -> str:
    reasons = {
        NumberParseException.INVALID_COUNTRY_CODE: "no such country code",
        NumberParseException.TOO_SHORT_NSN: "too short",
        NumberParseException.TOO_SHORT_AFTER_IDD: "too short",
        NumberParseException.TOO_LONG: "too long",
    }
    return f"{raw!r} is not a phone number ({reasons.get(exc.error_type, 'unreadable')})"


def _invalid(raw: str, text: str, parsed: phonenumbers.PhoneNumber, region: str) -> str:
    """Why a parsed number is not valid, with the likeliest fix."""
    # the country code's main region: +44 is GB's though Guernsey and Jersey share it
    where = phonenumbers.region_code_for_country_code(parsed.country_code or 0)
    if where == UNKNOWN_REGION:
        return f"{raw!r} is not a valid number anywhere (E.164: + country code and number)"
    name = REGION_NAMES.get(where, where)
    message = f"{raw!r} is not a valid {name} number"
    if not text.startswith("+"):
        hint = _with_plus(text)
        if hint is not None:
            return f"{message}: write the country code with +, e.g. {hint}"
    if where == "CN":
        national = str(parsed.national_number)
        if len(national) in (7, 8) and national[0] in "23456789":
            return f"{message}: a landline number without area code (write it as 0631-5812345)"
        return (
            f"{message} (mobiles have 11 digits starting 13-19, landlines an area code such as "
            "0631-5812345; other countries need + and their code)"
        )
    return message


def _with_plus(text: str) -> str | None:
    """``85261230001`` read as ``+852 6123 0001``, if that is a valid number (else None)."""
    try:
        parsed = phonenumbers.parse("+" + text, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
