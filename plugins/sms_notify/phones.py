"""Phone numbers for SMS: E.164 or mainland mobile in, the number Alibaba expects out."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from core.errors import ServerError

MAINLAND = "86"
# mainland mobile numbers: 11 digits, 1 then 3-9 (13x … 19x); 10x-12x are not mobile ranges
_MAINLAND_MOBILE = re.compile(r"1[3-9][0-9]{9}")
# what people put between digits: spaces, hyphens, dots, brackets (full-width ones are folded
# to ASCII by NFKC first)
_SEPARATORS = re.compile(r"[\s\-.()/]")
_E164_MAX_DIGITS = 15  # ITU-T E.164: country code + national number
_E164_MIN_DIGITS = 8  # shorter is no subscriber number anywhere


class PhoneNumberError(ServerError, ValueError):
    """A phone number SMS cannot be sent to: empty, malformed, or of the wrong kind."""

    title = "invalid phone number"

    def __init__(self, raw: str | None, detail: str) -> None:
        super().__init__(detail)
        self.raw = raw


class NotAMobileNumber(PhoneNumberError):
    """A well-formed number that is not a mobile one (landline, 400/800 line): no SMS."""

    title = "not a mobile number"


@dataclass(frozen=True, slots=True)
class MobileNumber:
    """A normalised SMS destination: the international number as digits (E.164 without +)."""

    digits: str

    @property
    def e164(self) -> str:
        """``+8613906310001``: for people, logs and the spool."""
        return f"+{self.digits}"

    @property
    def mainland(self) -> bool:
        # country codes are prefix-free and 86 is assigned, so no other code starts with 86
        return self.digits.startswith(MAINLAND)

    @property
    def for_alibaba(self) -> str:
        """What SendSms's ``PhoneNumbers`` takes: 11 digits in the mainland, else cc+number.

        Alibaba's SendSms documentation asks for international numbers as "国际区号+号码"
        (country code then number, e.g. ``85212345678``), without ``+`` or ``00``.
        """
        return self.digits[len(MAINLAND) :] if self.mainland else self.digits


def normalise_mobile(raw: str | None) -> MobileNumber:
    """Parse ``+86 139 0631 0001``, ``+8613906310001``, ``13906310001``, ``+852 …``.

    Raises ``NotAMobileNumber`` for landlines and service numbers (they cannot receive SMS)
    and ``PhoneNumberError`` for anything else that is not a number we can text.
    """
    if raw is None or not raw.strip():
        raise PhoneNumberError(raw, "no phone number: the recipient has none on record")
    # NFKC folds full-width digits and ＋ typed with a Chinese input method to ASCII
    text = _SEPARATORS.sub("", unicodedata.normalize("NFKC", raw))
    if text.startswith("00"):
        text = "+" + text[2:]  # the international call prefix used in China
    international = text.startswith("+")
    digits = text[1:] if international else text
    if not digits.isascii() or not digits.isdigit():
        raise PhoneNumberError(raw, f"{raw!r} is not a phone number (only digits, + and spaces)")
    if international:
        if digits.startswith(MAINLAND):
            return _mainland(raw, digits[len(MAINLAND) :])
        if not _E164_MIN_DIGITS <= len(digits) <= _E164_MAX_DIGITS:
            raise PhoneNumberError(
                raw, f"{raw!r} is not an E.164 number (8 to 15 digits after the +)"
            )
        # without a numbering-plan database we cannot tell a foreign mobile from a landline:
        # Alibaba answers isv.MOBILE_NUMBER_ILLEGAL for the latter
        return MobileNumber(digits)
    if len(digits) == 13 and digits.startswith(MAINLAND) and _MAINLAND_MOBILE.fullmatch(digits[2:]):
        return _mainland(raw, digits[2:])  # 86 prefix written without the +
    return _mainland(raw, digits)


def _mainland(raw: str, national: str) -> MobileNumber:
    """A national mainland number: a mobile, or a clear error saying what it is instead."""
    if _MAINLAND_MOBILE.fullmatch(national):
        return MobileNumber(MAINLAND + national)
    kind = _mainland_non_mobile_kind(national)
    if kind:
        raise NotAMobileNumber(
            raw, f"{raw!r} is a {kind}, not a mobile number: it cannot receive SMS"
        )
    raise PhoneNumberError(
        raw,
        f"{raw!r} is not a mainland mobile number (11 digits starting 13-19) "
        "nor an international one (+ and country code)",
    )


def _mainland_non_mobile_kind(national: str) -> str | None:
    """Name the kind of a mainland number that is not mobile, or None if it is none."""
    if national.startswith(("400", "800")) and len(national) == 10:
        return "service number (400/800 line)"
    trunk = national[1:] if national.startswith("0") else national  # 0 = domestic trunk prefix
    # area code then subscriber number: 010 / 02x + 8 digits, or 03xx-09xx + 7 or 8 digits
    two_digit_area = trunk.startswith(("10", "2")) and len(trunk) == 10
    three_digit_area = trunk[:1] in tuple("3456789") and len(trunk) in (10, 11)
    if two_digit_area or three_digit_area:
        return "mainland landline"
    if len(national) in (7, 8) and national[0] in "23456789":
        return "landline number without area code"
    return None
