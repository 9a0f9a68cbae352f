"""SMS destinations: core.phones' mobile numbers, in the form Alibaba's SendSms expects."""

from __future__ import annotations

from dataclasses import dataclass

from core.phones import NotAMobileNumber, PhoneNumber, PhoneNumberError, parse_mobile

__all__ = ["MobileNumber", "NotAMobileNumber", "PhoneNumberError", "normalise_mobile"]


@dataclass(frozen=True, slots=True)
class MobileNumber:
    """A number that can take an SMS (core.phones.parse_mobile checked it)."""

    number: PhoneNumber

    @property
    def e164(self) -> str:
        """``+8613906310001``: for people, logs and the spool."""
        return self.number.e164

    @property
    def mainland(self) -> bool:
        return self.number.region == "CN"

    @property
    def for_alibaba(self) -> str:
        """What SendSms's ``PhoneNumbers`` takes: 11 digits in the mainland, else cc+number.

        Alibaba's SendSms documentation asks for international numbers as "国际区号+号码"
        (country code then number, e.g. ``85212345678``), without ``+`` or ``00``.
        """
        return self.number.digits[2:] if self.mainland else self.number.digits


def normalise_mobile(raw: str | None) -> MobileNumber:
    """Parse ``+86 139 0631 0001``, ``13906310001``, ``+852 6123 0001``, ``+85261230001``.

    Raises ``NotAMobileNumber`` for landlines and service numbers (they cannot receive SMS)
    and ``PhoneNumberError`` for anything else that is not a number we can text.
    """
    return MobileNumber(parse_mobile(raw))
