"""The report's privacy filter: every string on its way into the report (its content, its evidence
titles, the evidence copies shipped in its folder) passes here once.

C2 data (bank card, resident ID and mobile numbers: Luhn, GB 11643 and mobile detectors of
harness.checks.pii, plus the test accounts' own values in any display format) is masked by the lab's
rule (pii.evidence_mask: card and ID keep the first 6 and last 4, mobile the first 3 and last 4);
C3 data (the declared test accounts' passwords) never appears. The raw evidence under the lab's data
directory stays as observed; access to it is the lab's.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.pii import FIELD_KIND, redact

# Evidence the report folder carries as a masked copy (text); everything else stays with the lab,
# named in the manifest with its digest, except the lab's own figures (charts of measurements).
TEXT_SUFFIXES = frozenset({".txt", ".json", ".log", ".pem", ".md", ".csv", ".xml", ".html", ".feature", ".yaml"})
SHIPPED_AS_IS = frozenset({"figure"})


@dataclass(frozen=True)
class Redactor:
    passwords: tuple[str, ...] = ()
    known: tuple[tuple[str, str], ...] = ()  # (value, detector kind) of the test accounts' C2 data
    _cache: dict[str, str] = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def for_spec(cls, spec: dict[str, Any]) -> Redactor:
        """From a sample's spec snapshot: its declared test accounts' passwords and C2 values."""
        accounts: Iterable[dict[str, Any]] = (spec.get("driver") or {}).get("accounts") or []
        passwords, known = [], []
        for a in accounts:
            if a.get("password"):
                passwords.append(str(a["password"]))
            for fname, kind in FIELD_KIND.items():
                if a.get(fname):
                    known.append((str(a[fname]), kind))
        return cls(tuple(passwords), tuple(known))

    def text(self, s: str) -> str:
        if not s or (s.isascii() and len(s) < 6 and not any(p in s for p in self.passwords)):
            return s
        hit = self._cache.get(s)
        if hit is None:
            hit = self._cache[s] = redact(s, self.passwords, self.known)
        return hit

    def walk(self, obj: Any) -> Any:
        """The same structure with every string (keys included) filtered."""
        if isinstance(obj, str):
            return self.text(obj)
        if isinstance(obj, dict):
            return {self.text(k) if isinstance(k, str) else k: self.walk(v) for k, v in obj.items()}
        if isinstance(obj, list | tuple):
            return [self.walk(v) for v in obj]
        return obj

    def relpath(self, path: str) -> str:
        """An evidence path as the report folder names it (a file name never carries personal data)."""
        return self.text(path)  # the same filter as the content's paths, so links and files agree


def shipped(kind: str, path: str) -> str:
    """How an evidence file travels with the report: "masked" (a filtered text copy), "as-is" (the
    lab's own figures), or "retained" (screenshots, packet captures: kept by the lab, digest only)."""
    if kind in SHIPPED_AS_IS:
        return "as-is"
    if Path(path).suffix.lower() in TEXT_SUFFIXES:
        return "masked"
    return "retained"


def copy_masked(src: Path, dest: Path, redactor: Redactor) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    data = src.read_bytes()
    dest.write_text(_masked(hashlib.sha256(data).digest(), data, redactor.passwords, redactor.known), encoding="utf-8")


# Every rewrite of a report folder (each signature, each revision, each record) ships the run's
# evidence again: the same bytes under the same rule give the same copy, masked once per process.
_MASKED: OrderedDict[tuple[bytes, tuple[str, ...], tuple[tuple[str, str], ...]], str] = OrderedDict()
_MASKED_MAX = 2048
_MASKED_LOCK = threading.Lock()


def _masked(digest: bytes, data: bytes, passwords: tuple[str, ...], known: tuple[tuple[str, str], ...]) -> str:
    key = (digest, passwords, known)
    with _MASKED_LOCK:
        hit = _MASKED.get(key)
    if hit is None:
        hit = redact(data.decode("utf-8", errors="replace"), passwords, known)
        with _MASKED_LOCK:
            _MASKED[key] = hit
            if len(_MASKED) > _MASKED_MAX:
                _MASKED.popitem(last=False)
    return hit
