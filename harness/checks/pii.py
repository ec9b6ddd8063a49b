"""Detectors for personal financial information (JR/T 0171-2020): C2 identifiers (bank card numbers,
resident ID numbers, mainland mobile numbers) and C3 credentials (the passwords the suite typed),
plus the masking rules a sample declares (``parameters.masking``: field -> (keep_prefix, keep_suffix)).

Pure functions, no I/O: every check that scans text (API answers, pages, logs, stored data) uses
these, and tests/test_pii.py pins their behaviour. Detectors favour precision: a card number must
pass Luhn and start like an issuer number, an ID number must carry a valid region, birth date and
GB 11643 check digit, and no match may touch another letter or digit (so hex IDs, millisecond
timestamps and masked values such as ``622202*********0128`` are not reported).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

# -- validators ----------------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
# GB/T 2260 province-level codes (first two digits), 81-83 for HK/Macao/Taiwan residence permits,
# 91 for the foreigners' permanent-residence ID of 2023 that follows the same 18-character scheme.
_ID_REGIONS = frozenset(
    [*range(11, 16), *range(21, 24), *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66), 71, 81, 82, 83, 91]
)


def luhn_valid(number: str) -> bool:
    """The Luhn (mod 10) check of ISO/IEC 7812 card numbers."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def plausible_card(number: str) -> bool:
    """13-19 digits, Luhn-valid, and an issuer prefix in use (2-6 any length; 8/9 domestic legacy
    prefixes only at 16-19 digits); one digit repeated is never a card."""
    if not (number.isdigit() and 13 <= len(number) <= 19) or len(set(number)) < 2:
        return False
    first = number[0]
    if first in "23456" or (first in "89" and len(number) >= 16):
        return luhn_valid(number)
    return False


def id_check_digit(first17: str) -> str:
    return _ID_CHECK[sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def id_number_valid(value: str, today: date | None = None) -> bool:
    """An 18-character resident ID number (GB 11643-1999): region, a real birth date not in the
    future (and not before 1800), and the ISO 7064 MOD 11-2 check character."""
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789Xx":
        return False
    if int(value[:2]) not in _ID_REGIONS:
        return False
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    if not date(1800, 1, 1) <= born <= (today or date.today()):
        return False
    return id_check_digit(value[:17]) == value[17].upper()


def mobile_valid(value: str) -> bool:
    digits = re.sub(r"[ -]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return bool(re.fullmatch(r"1[3-9]\d{9}", digits))


# -- detectors -----------------------------------------------------------------------------------
KINDS = ("card", "id_number", "phone")
KIND_ZH = {"card": "银行卡号", "id_number": "身份证号", "phone": "手机号", "password": "口令"}
# The Account fields (and parameters.masking keys) each detector covers.
FIELD_KIND = {"card_number": "card", "id_number": "id_number", "phone": "phone"}

_B, _E = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
_CARD_RE = re.compile(_B + r"(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2,3}(?:[ -]\d{1,4})?)" + _E)
_ID_RE = re.compile(_B + r"\d{17}[\dXx]" + _E)
_MOBILE_RE = re.compile(_B + r"(?:(?:\+|00)86[ -]?|86[ -])?1[3-9]\d(?:\d{8}|[ -]\d{4}[ -]\d{4})" + _E)


@dataclass(frozen=True)
class Finding:
    """A match of a detector in some text: ``value`` as it appears, ``normal`` without separators."""

    kind: str  # card | id_number | phone | password
    value: str
    start: int
    end: int
    normal: str
    label: str = ""  # for known values: whose value it is ("alice 的口令")

    def masked(self) -> str:
        return evidence_mask(self.normal, self.kind)


def find_cards(text: str) -> list[Finding]:
    out = []
    for m in _CARD_RE.finditer(text):
        digits = re.sub(r"[ -]", "", m.group())
        if plausible_card(digits):
            out.append(Finding("card", m.group(), m.start(), m.end(), digits))
    return out


def find_id_numbers(text: str, today: date | None = None) -> list[Finding]:
    return [
        Finding("id_number", m.group(), m.start(), m.end(), m.group().upper())
        for m in _ID_RE.finditer(text)
        if id_number_valid(m.group(), today)
    ]


def find_mobiles(text: str) -> list[Finding]:
    out = []
    for m in _MOBILE_RE.finditer(text):
        digits = re.sub(r"\D", "", m.group())[-11:]
        if mobile_valid(digits):
            out.append(Finding("phone", m.group(), m.start(), m.end(), digits))
    return out


def find_c2(text: str, today: date | None = None) -> list[Finding]:
    """Every unmasked C2 identifier in the text; where spans overlap (an 18-digit ID number that is
    also Luhn-valid) the ID number wins."""
    found = find_id_numbers(text, today) + find_cards(text) + find_mobiles(text)
    out: list[Finding] = []
    for f in found:  # ID numbers first, so they win overlaps
        if not any(f.start < o.end and o.start < f.end for o in out):
            out.append(f)
    return sorted(out, key=lambda f: f.start)


def find_secrets(text: str, secrets: Mapping[str, str]) -> list[Finding]:
    """Verbatim occurrences of known secrets (label -> the password the suite typed)."""
    out = []
    for label, secret in secrets.items():
        if not secret:
            continue
        start = text.find(secret)
        while start != -1:
            out.append(Finding("password", secret, start, start + len(secret), secret, label))
            start = text.find(secret, start + 1)
    return out


# -- masking -------------------------------------------------------------------------------------
MASK_CHARS = frozenset("*•xX#×")
_TOKEN_RE = re.compile(r"[0-9A-Za-z*•#×]{4,}")


def mask_middle(value: str, keep: tuple[int, int]) -> str:
    pre, suf = keep
    if len(value) <= pre + suf:
        return "*" * len(value)
    return value[:pre] + "*" * (len(value) - pre - suf) + (value[len(value) - suf :] if suf else "")


EVIDENCE_KEEP = {"card": (6, 4), "id_number": (6, 4), "phone": (3, 4)}


def evidence_mask(value: str, kind: str) -> str:
    """How a detected value is written into evidence: C2 masked the usual way, C3 not at all."""
    if kind == "password":
        return "［口令已隐去］"
    return mask_middle(value, EVIDENCE_KEEP.get(kind, (2, 2)))


def masked_properly(shown: str, original: str, keep: tuple[int, int]) -> bool:
    """``shown`` keeps at most ``keep`` = (prefix, suffix) characters of ``original``, the rest masked."""
    pre, suf = keep
    if shown == original or len(shown) < pre + suf + 1:
        return False
    middle = shown[pre : len(shown) - suf]
    return (
        shown[:pre] == original[:pre]
        and shown[len(shown) - suf :] == original[len(original) - suf :]
        and bool(middle)
        and set(middle) <= MASK_CHARS
    )


def _normalise_mask(token: str) -> str:
    """Mask characters become '*'; runs of two or more x/X count as masking (a lone trailing X is the
    ID number's check character)."""
    token = re.sub(r"[xX]{2,}", lambda m: "*" * len(m.group()), token)
    return "".join("*" if c in "•#×" else c for c in token)


@dataclass(frozen=True)
class Exposure:
    """A masked rendering of a known value and how much of it is visible."""

    token: str
    start: int
    visible_prefix: int
    visible_suffix: int
    visible_middle: int

    def exceeds(self, keep: tuple[int, int]) -> bool:
        return self.visible_prefix > keep[0] or self.visible_suffix > keep[1] or self.visible_middle > 0


def masked_renderings(text: str, original: str) -> list[Exposure]:
    """Tokens in ``text`` that are a masked form of ``original``: some mask characters, and visible
    head and tail characters equal to the original's (at least four in all, so a coincidence is
    unlikely)."""
    orig = original.upper()
    out = []
    for m in _TOKEN_RE.finditer(text):
        tok = _normalise_mask(m.group()).upper()
        if "*" not in tok:
            continue
        first, last = tok.index("*"), tok.rindex("*")
        head, middle, tail = tok[:first], tok[first : last + 1], tok[last + 1 :]
        if len(head) + len(tail) < 4 or len(head) + len(tail) >= len(orig):
            continue
        if orig.startswith(head) and orig.endswith(tail):
            out.append(Exposure(m.group(), m.start(), len(head), len(tail), sum(c != "*" for c in middle)))
    return out


def _flexible(original: str) -> re.Pattern[str]:
    """The original value, allowing single spaces or dashes between characters (display formats)."""
    return re.compile(_B + "[ -]?".join(re.escape(c) for c in original) + _E, re.IGNORECASE)


def find_value(text: str, original: str, kind: str, label: str = "") -> list[Finding]:
    """Full (unmasked) occurrences of one known value, also when written with separators."""
    return [Finding(kind, m.group(), m.start(), m.end(), original, label) for m in _flexible(original).finditer(text)]


def masking_rules(declared: Mapping[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """parameters.masking (field -> keep) as detector kind -> keep; fields without a detector are
    kept under their own name (checked as known values only)."""
    return {FIELD_KIND.get(k, k): (int(v[0]), int(v[1])) for k, v in declared.items()}


def redact(text: str, secrets: Iterable[str] = (), known: Iterable[tuple[str, str]] = ()) -> str:
    """The text as it may go into evidence: secrets hidden, known values ((value, kind)) and every
    detected C2 value masked."""
    for s in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(s, evidence_mask(s, "password"))
    for value, kind in sorted(set(known), key=lambda vk: len(vk[0]), reverse=True):
        if value:
            text = _flexible(value).sub(evidence_mask(value, kind), text)
    for f in reversed(find_c2(text)):
        text = text[: f.start] + f.masked() + text[f.end :]
    return text
