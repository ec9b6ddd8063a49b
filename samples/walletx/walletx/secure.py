"""Credentials, payment signatures, secrets at rest and masking."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping

# --- login credentials: scrypt, stored in the modular-crypt form $scrypt$ln=..,r=..,p=..$salt$hash
SCRYPT_LN, SCRYPT_R, SCRYPT_P = 14, 8, 1  # N = 2**14


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _ab64(data: bytes) -> str:
    """The crypt-style base64 alphabet: no padding, '.' for '+'."""
    return base64.b64encode(data).decode("ascii").rstrip("=").replace("+", ".")


def _ab64_decode(text: str) -> bytes:
    text = text.replace(".", "+")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def hash_credential(plain: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(plain.encode("utf-8"), salt=salt, n=2**SCRYPT_LN, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"$scrypt$ln={SCRYPT_LN},r={SCRYPT_R},p={SCRYPT_P}${_ab64(salt)}${_ab64(digest)}"


def check_credential(plain: str, stored: str) -> bool:
    try:
        _, scheme, params, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        cost = dict(item.split("=", 1) for item in params.split(","))
        expected = _ab64_decode(digest)
        got = hashlib.scrypt(
            plain.encode("utf-8"),
            salt=_ab64_decode(salt),
            n=2 ** int(cost["ln"]),
            r=int(cost["r"]),
            p=int(cost["p"]),
            dklen=len(expected),
        )
    except (ValueError, KeyError):
        return False
    return hmac.compare_digest(got, expected)


# Checked against when the login name is unknown, so both refusals cost the same time.
DUMMY_HASH = hash_credential("walletx-no-such-holder")

# --- payment signatures -----------------------------------------------------------------------
# Canonical string: these body fields' values, in this order, joined by '|'.
SIGNED_FIELDS: tuple[str, ...] = ("walletNo", "payeeWalletNo", "amountFen", "reqId", "ts")


def _text(value: object) -> str:
    return "" if value is None else str(value)


def canonical(body: Mapping[str, object]) -> str:
    return "|".join(_text(body.get(name)) for name in SIGNED_FIELDS)


def signature(sign_key: str, body: Mapping[str, object]) -> str:
    mac = hmac.new(sign_key.encode("utf-8"), canonical(body).encode("utf-8"), hashlib.sha256).digest()
    return _b64(mac)


def signature_ok(sign_key: str, body: Mapping[str, object], given: str | None) -> bool:
    if not given:
        return False
    return hmac.compare_digest(signature(sign_key, body).encode("ascii"), given.strip().encode("utf-8"))


# --- secrets at rest: signing keys are sealed with the local master key ----------------------
def _subkey(master: bytes, label: bytes) -> bytes:
    return hmac.new(master, label, hashlib.sha256).digest()


def _keystream(key: bytes, nonce: bytes, length: int) -> bytes:
    out = b""
    counter = 0
    while len(out) < length:
        out += hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
        counter += 1
    return out[:length]


def seal(master: bytes, plain: str) -> str:
    nonce = secrets.token_bytes(16)
    data = plain.encode("utf-8")
    body = bytes(a ^ b for a, b in zip(data, _keystream(_subkey(master, b"enc"), nonce, len(data)), strict=True))
    tag = hmac.new(_subkey(master, b"mac"), nonce + body, hashlib.sha256).digest()[:16]
    return _b64(nonce + body + tag)


class SealError(Exception):
    pass


def unseal(master: bytes, sealed: str) -> str:
    raw = base64.b64decode(sealed)
    nonce, body, tag = raw[:16], raw[16:-16], raw[-16:]
    expected = hmac.new(_subkey(master, b"mac"), nonce + body, hashlib.sha256).digest()[:16]
    if not hmac.compare_digest(tag, expected):
        raise SealError("sealed value was altered or the master key is wrong")
    data = bytes(a ^ b for a, b in zip(body, _keystream(_subkey(master, b"enc"), nonce, len(body)), strict=True))
    return data.decode("utf-8")


# --- masking (JR/T 0171: card keeps first 6 / last 4, mobile 3/4, ID card 6/4) ----------------
def mask(value: str, head: int, tail: int) -> str:
    hidden = len(value) - head - tail
    if hidden <= 0:
        return "*" * len(value)
    return value[:head] + "*" * hidden + value[len(value) - tail :]


def mask_card(value: str) -> str:
    return mask(value, 6, 4)


def mask_mobile(value: str) -> str:
    return mask(value, 3, 4)


def mask_id_card(value: str) -> str:
    return mask(value, 6, 4)


# --- field validity -----------------------------------------------------------------------------
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_ok(number: str) -> bool:
    if not number.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def id_card_ok(number: str) -> bool:
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == number[17].upper()


def yuan(fen: int) -> str:
    """Fen as a yuan string for logs and messages: 123456 -> '1234.56'."""
    sign = "-" if fen < 0 else ""
    return f"{sign}{abs(fen) // 100}.{abs(fen) % 100:02d}"
