"""core.phones: every written form of a number, its region and kind, and what can take an SMS."""

from __future__ import annotations

import pytest

from core.phones import (
    NotAMobileNumber,
    PhoneNumberError,
    contact_problems,
    parse_mobile,
    parse_phone,
)

MOBILE = ("+8613906310001", "mainland mobile", "139 0631 0001", "+86 139 0631 0001")

# raw, E.164, described (region and kind), national, international
VALID = [
    # mainland mobiles, however they are written
    ("13906310001", *MOBILE),
    ("139-0631-0001", *MOBILE),
    ("139 0631 0001", *MOBILE),
    ("+86 139 0631 0001", *MOBILE),
    ("0086 139 0631 0001", *MOBILE),
    ("8613906310001", *MOBILE),
    ("＋８６　１９９０６３１０００１", "+8619906310001", "mainland mobile", "199 0631 0001",
     "+86 199 0631 0001"),  # full-width, as a Chinese input method types it
    # mainland landlines with their area code
    ("0631-5812345", "+866315812345", "mainland landline", "0631 581 2345", "+86 631 581 2345"),
    ("(0631) 581 2345", "+866315812345", "mainland landline", "0631 581 2345", "+86 631 581 2345"),
    ("+86 631 5812345", "+866315812345", "mainland landline", "0631 581 2345", "+86 631 581 2345"),
    ("010-6552 9988", "+861065529988", "mainland landline", "010 6552 9988", "+86 10 6552 9988"),
    # Hong Kong: with or without spaces, the same number
    ("+852 6123 0001", "+85261230001", "Hong Kong mobile", "6123 0001", "+852 6123 0001"),
    ("+85261230001", "+85261230001", "Hong Kong mobile", "6123 0001", "+852 6123 0001"),
    ("+852-6123-0001", "+85261230001", "Hong Kong mobile", "6123 0001", "+852 6123 0001"),
    ("00852 6123 0001", "+85261230001", "Hong Kong mobile", "6123 0001", "+852 6123 0001"),
    ("+852 2123 4567", "+85221234567", "Hong Kong landline", "2123 4567", "+852 2123 4567"),
    # Macau
    ("+853 6612 3456", "+85366123456", "Macau mobile", "6612 3456", "+853 6612 3456"),
    ("+85366123456", "+85366123456", "Macau mobile", "6612 3456", "+853 6612 3456"),
    ("+853 2855 5555", "+85328555555", "Macau landline", "2855 5555", "+853 2855 5555"),
    # service numbers are valid numbers (they cannot take an SMS)
    ("400-810-8888", "+864008108888", "mainland service number (400/800 line)",
     "400 810 8888", "+86 400 810 8888"),
]  # fmt: skip


@pytest.mark.parametrize(("raw", "e164", "described", "national", "international"), VALID)
def test_valid_numbers_are_normalised_and_formatted(
    raw: str, e164: str, described: str, national: str, international: str
) -> None:
    number = parse_phone(raw)
    assert (number.e164, number.described) == (e164, described)
    assert (number.national, number.international) == (national, international)
    assert parse_phone(number.e164) == number  # E.164 reads back as the same number


def test_spaced_and_unspaced_hong_kong_numbers_are_one_number() -> None:
    assert parse_mobile("+852 6123 0001") == parse_mobile("+85261230001")
    assert parse_mobile("+852 6123 0001").region == "HK"


INVALID = [
    ("", "no phone number"),
    ("   ", "no phone number"),
    ("139 0631 OOO1", "is not a phone number"),  # letters are never keypad digits here
    ("13906310001 ext 5", "is not a phone number"),
    ("12906310001", "not a valid mainland number"),  # 12x is no mobile range
    ("1390631000", "not a valid mainland number"),  # 10 digits
    ("+86 139 0631 00012", "not a valid mainland number"),  # 12 digits
    ("5812345", "without area code"),
    ("85261230001", "write the country code with +, e.g. +852 6123 0001"),
    ("+852 1234 5678", "not a valid Hong Kong number"),
    ("+853 1234 5678", "not a valid Macau number"),
    ("+999 1234", "no such country code"),
    ("+44 7700 900123", "not a valid GB number"),  # Ofcom's range for drama
]


@pytest.mark.parametrize(("raw", "says"), INVALID)
def test_invalid_numbers_say_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(PhoneNumberError) as caught:
        parse_phone(raw)
    assert says in caught.value.detail
    assert caught.value.raw == raw
    assert not isinstance(caught.value, NotAMobileNumber)


@pytest.mark.parametrize(
    "raw", ["13906310001", "+852 6123 0001", "+85366123456", "+1 415 555 0100"]
)
def test_mobiles_can_take_an_sms(raw: str) -> None:
    assert parse_mobile(raw).can_take_sms


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("0631-5812345", "is a mainland landline"),
        ("+852 2123 4567", "is a Hong Kong landline"),
        ("+853 2855 5555", "is a Macau landline"),
        ("400-810-8888", "is a mainland service number (400/800 line)"),
    ],
)
def test_sms_to_a_landline_is_refused(raw: str, says: str) -> None:
    with pytest.raises(NotAMobileNumber) as caught:
        parse_mobile(raw)
    assert says in caught.value.detail
    assert "cannot receive SMS" in caught.value.detail


def test_contact_problems_name_the_field() -> None:
    assert contact_problems("0631-5812345", "13906310001") == []
    assert contact_problems(None, None) == []
    found = contact_problems("5812345", "0631-5812345")
    assert [field for field, _ in found] == ["phone", "mobile"]
    assert "is a mainland landline" in found[1][1]
