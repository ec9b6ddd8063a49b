"""Password hashing: PBKDF2-HMAC-SHA256 (compliant) or unsalted MD5 (defect)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

ITERATIONS = 210_000
PBKDF2 = "pbkdf2_sha256"
MD5 = "md5"


def hash_password(password: str, scheme: str = PBKDF2) -> str:
    if scheme == MD5:
        # Deliberately weak ('weak-password-hash' defect).
        return hashlib.md5(password.encode("utf-8")).hexdigest()
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, ITERATIONS)
    return f"{PBKDF2}${ITERATIONS}${salt.hex()}${digest.hex()}"


def scheme_of(stored: str) -> str:
    return PBKDF2 if stored.startswith(PBKDF2 + "$") else MD5


def verify_password(password: str, stored: str) -> bool:
    if scheme_of(stored) == MD5:
        candidate = hashlib.md5(password.encode("utf-8")).hexdigest()
        return hmac.compare_digest(candidate, stored)
    try:
        _, iterations, salt_hex, hash_hex = stored.split("$")
        salt, expected = bytes.fromhex(salt_hex), bytes.fromhex(hash_hex)
        rounds = int(iterations)
    except ValueError:
        return False
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, rounds)
    return hmac.compare_digest(digest, expected)


# Verified against on unknown usernames so both failure paths cost the same time.
DUMMY_HASH = hash_password("refpay-dummy-password")
