"""What a field or column name says it holds: a password, C3 card data, a one-time or reset code."""

from __future__ import annotations

import re


def name_words(name: str) -> list[str]:
    """Field name -> lower-case words: passwordHash, password_hash, PASSWORD-HASH -> [password, hash]."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [t for t in re.split(r"[^A-Za-z0-9]+", name.lower()) if t]


def password_named(name: str | None) -> bool:
    if not name:
        return False
    low = name.lower()
    if any(w in low for w in ("password", "passwd", "passcode", "passphrase", "口令", "密码")):
        return True
    return any(t in ("pwd", "pw", "pass", "pwhash", "pword") for t in name_words(name))


_C3_WORDS = frozenset({"cvv", "cvv2", "cvn", "cvn2", "cvc", "cvc2", "pin", "pinblock", "track", "track1", "track2"})


def c3_named(name: str | None) -> bool:
    """Column or field names that hold card verification/PIN/track data (C3 in JR/T 0171)."""
    return bool(name) and bool(_C3_WORDS & set(name_words(name or "")))


# -- password storage strength ---------------------------------------------------------------------


_CODE_WORDS = frozenset({"code", "token", "otp", "pin", "captcha"})
_CODE_CONTEXT = frozenset(
    {"reset", "verify", "verification", "sms", "otp", "activation", "confirm", "confirmation", "recovery", "mail"}
)


def code_named(key: str) -> bool:
    """A field name that says it holds a reset or verification code (``reset_token``, ``smsCode``,
    ``otp``); a bare ``code`` or ``token`` is not enough (error codes, session tokens)."""
    words = set(name_words(key))
    if words & {"otp", "totp"}:
        return True
    return bool(words & _CODE_WORDS and words & _CODE_CONTEXT)
