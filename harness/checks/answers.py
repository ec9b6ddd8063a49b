"""Comparing and quoting a sample's answers: what every check needs to say "these two answers are
alike" or to show an answer in one line of evidence."""

from __future__ import annotations

import re
from collections.abc import Iterable

import requests

_HEX = re.compile(r"\b[0-9a-fA-F-]{16,}\b")
# Per-answer tokens: anti-CSRF tokens, signed cookies or nonces echoed into a page, request IDs.
_TOKEN = re.compile(r"[A-Za-z0-9_\-]*[0-9][A-Za-z0-9_\-]*[A-Za-z][A-Za-z0-9_\-.]{14,}|[A-Za-z0-9+/_\-]{24,}={0,2}")
_DIGITS = re.compile(r"\d+")


def fingerprint(resp: requests.Response, hide: Iterable[str] = ()) -> tuple[int, str]:
    """Status and body with the request-specific parts blanked: the texts in ``hide`` (the user
    name or amount a sample may echo), long hex/UUID runs (request IDs), long random-looking tokens
    (a page's anti-CSRF token) and all digits (times)."""
    text = resp.text
    for h in sorted({str(x) for x in hide if str(x)}, key=len, reverse=True):
        text = text.replace(h, "<>")
    text = _HEX.sub("<hex>", text)
    text = _TOKEN.sub("<tok>", text)
    return resp.status_code, _DIGITS.sub("#", text)


def brief(resp: requests.Response, limit: int = 120) -> str:
    body = " ".join(resp.text.split())
    return f"{resp.status_code} {body[:limit]}" + ("…" if len(body) > limit else "")
