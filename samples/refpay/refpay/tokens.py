"""Minimal HS256 JWT implemented with hmac/base64 (no third-party libs)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


class TokenError(Exception):
    """Token is malformed or its signature/algorithm is not acceptable."""


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json_b64(obj: dict[str, Any]) -> str:
    return _b64e(json.dumps(obj, separators=(",", ":")).encode("utf-8"))


def _sign(signing_input: str, secret: bytes) -> str:
    return _b64e(hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest())


def encode(claims: dict[str, Any], secret: bytes) -> str:
    signing_input = _json_b64({"alg": "HS256", "typ": "JWT"}) + "." + _json_b64(claims)
    return signing_input + "." + _sign(signing_input, secret)


def decode(token: str, secret: bytes, *, accept_none: bool = False) -> dict[str, Any]:
    """Verify and return the claims.

    alg must be exactly HS256: trusting the header's alg is the classic
    'alg=none' bypass, only allowed when accept_none models the 'weak-jwt' defect.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed token")
    try:
        header = json.loads(_b64d(parts[0]))
        claims = json.loads(_b64d(parts[1]))
    except ValueError as exc:  # covers binascii, unicode and JSON errors
        raise TokenError("malformed token") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenError("malformed token")
    alg = header.get("alg")
    if accept_none and isinstance(alg, str) and alg.lower() == "none":
        return claims
    if alg != "HS256":
        raise TokenError("unsupported alg")
    expected = _sign(parts[0] + "." + parts[1], secret)
    if not hmac.compare_digest(expected.encode("ascii"), parts[2].encode("utf-8")):
        raise TokenError("bad signature")
    return claims
