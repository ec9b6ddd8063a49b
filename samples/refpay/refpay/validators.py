"""Field validation and masking helpers (card, ID number, phone, amount)."""

from __future__ import annotations

import re
from decimal import Context, Decimal, Inexact

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999.99")
_AMOUNT_RE = re.compile(r"-?\d{1,15}(\.\d{1,6})?")
# 'redos' defect: the payee account number checked against a pattern with nested quantifiers, which
# backtracks exponentially on a long run of digits with one other character at the end. Matching holds
# the interpreter (the GIL), so every other request waits for it too.
PAYEE_NESTED = re.compile(r"(\d+)+")
PAYEE_MAX_LENGTH = 40
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(number: str) -> bool:
    """Luhn (mod 10) check used by bank card numbers."""
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        digit = int(ch)
        if i % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def id_number_valid(id_number: str) -> bool:
    """GB 11643-1999 check digit of an 18-character resident ID number."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(id_number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == id_number[17].upper()


def mask_middle(value: str, keep_head: int, keep_tail: int) -> str:
    """Replace everything except the head and tail with asterisks."""
    hidden = len(value) - keep_head - keep_tail
    if hidden <= 0:
        return "*" * len(value)
    return value[:keep_head] + "*" * hidden + value[-keep_tail:]


def mask_card(card: str) -> str:
    return mask_middle(card, 6, 4)


def mask_id_number(id_number: str) -> str:
    return mask_middle(id_number, 6, 4)


def mask_phone(phone: str) -> str:
    return mask_middle(phone, 3, 4)


def parse_amount(raw: object, *, allow_non_positive: bool = False, crash_on_precision: bool = False) -> Decimal | None:
    """Return the amount as Decimal, or None when it is not acceptable.

    crash_on_precision models the 'server-error' defect: precision is enforced
    with a trapping context, so 0.001 raises instead of being rejected cleanly.
    """
    if not isinstance(raw, str) or not _AMOUNT_RE.fullmatch(raw):
        return None
    value = Decimal(raw)
    if crash_on_precision:
        value.quantize(CENT, context=Context(traps=[Inexact]))
    elif value != value.quantize(CENT):
        return None
    if value > MAX_AMOUNT or value < -MAX_AMOUNT:
        return None
    if value <= 0 and not allow_non_positive:
        return None
    return value


def fmt_amount(value: Decimal) -> str:
    return str(value.quantize(CENT))
