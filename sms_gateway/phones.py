"""Phone numbers in E.164 form (+8613812345678), and their masked form for logs."""

from __future__ import annotations

import phonenumbers

from sms_gateway.errors import InvalidPhoneError

DEFAULT_REGION = "CN"  # numbers written without a country code are read as mainland China numbers


def to_e164(number: str, default_region: str = DEFAULT_REGION) -> str:
    """Parse a phone number and return it in E.164 form.

    The check is phonenumbers' possible-number test for mobiles: a known country code and a
    length that country uses for mobile numbers. It is not the allocated-range test, because
    carriers open ranges faster than the metadata changes and a gateway rejects an unallocated
    number with its own error code. Raises InvalidPhoneError.
    """
    text = number.strip()
    try:
        parsed = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneError(mask_phone(text), str(error)) from None
    if not phonenumbers.is_possible_number_for_type(parsed, phonenumbers.PhoneNumberType.MOBILE):
        raise InvalidPhoneError(mask_phone(text), "not a possible mobile number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask_phone(number: str) -> str:
    """Hide the four digits before the last four: +8613812345678 -> +86138****5678.

    Numbers of eight characters or fewer keep only their last four digits.
    """
    if len(number) <= 8:
        return "*" * max(len(number) - 4, 0) + number[-4:]
    return number[:-8] + "****" + number[-4:]
