"""Transfer request signing: HMAC-SHA256 over a canonical k=v&k=v string."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping

SIGNED_FIELDS: tuple[str, ...] = (
    "amount",
    "from_account",
    "nonce",
    "timestamp",
    "to_account",
)
# 'tamper' defect: amount and accounts are left out of the signature.
TAMPER_FIELDS: tuple[str, ...] = ("nonce", "timestamp")


def canonical(body: Mapping[str, object], fields: Iterable[str] = SIGNED_FIELDS) -> str:
    return "&".join(f"{name}={body[name]}" for name in sorted(fields))


def sign(sign_key: str, body: Mapping[str, object], fields: Iterable[str] = SIGNED_FIELDS) -> str:
    message = canonical(body, fields).encode("utf-8")
    return hmac.new(sign_key.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(
    sign_key: str,
    body: Mapping[str, object],
    signature: object,
    fields: Iterable[str] = SIGNED_FIELDS,
) -> bool:
    if not isinstance(signature, str):
        return False
    expected = sign(sign_key, body, fields)
    return hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8"))
