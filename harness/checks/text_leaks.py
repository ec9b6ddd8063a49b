"""C3 (typed passwords) and unmasked or insufficiently masked C2 in text the sample shows or writes
(logs, pages), found from what the spec declared about the test accounts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from harness.checks.pii import FIELD_KIND, KIND_ZH, find_c2, find_secrets, find_value, masked_renderings, redact
from harness.spec.model import Account


# -- known data of the test accounts ---------------------------------------------------------------
@dataclass(frozen=True)
class KnownValue:
    owner: str  # account name
    field: str  # card_number | id_number | phone
    kind: str  # detector kind
    value: str


def known_values(accounts: Iterable[Account]) -> list[KnownValue]:
    out = []
    for a in accounts:
        for fname, kind in FIELD_KIND.items():
            v = getattr(a, fname, None)
            if v:
                out.append(KnownValue(a.name, fname, kind, str(v)))
    return out


def typed_passwords(accounts: Iterable[Account], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """label -> password: every password of a declared test account (what the suite types)."""
    out = {f"{a.name} 的口令": a.password for a in accounts if a.password}
    out.update(extra or {})
    return out


# -- scanning text (logs, rendered pages, answers) ------------------------------------------------
@dataclass(frozen=True)
class Leak:
    where: str
    cls: str  # C3 | C2
    what: str  # Chinese description
    excerpt: str  # redacted context

    def as_dict(self) -> dict[str, str]:
        return {"位置": self.where, "类别": self.cls, "问题": self.what, "摘录（已脱敏）": self.excerpt}


def evidence_excerpt(text: str, start: int, end: int, secrets: Iterable[str], known: Iterable[tuple[str, str]]) -> str:
    lo, hi = max(0, start - 60), min(len(text), end + 60)
    snippet = text[lo:hi].replace("\r", " ").replace("\n", " ⏎ ")
    return ("…" if lo else "") + redact(snippet, secrets, known) + ("…" if hi < len(text) else "")


def scan_text(
    text: str,
    where: str,
    passwords: Mapping[str, str],
    known: Iterable[KnownValue],
    masking: Mapping[str, tuple[int, int]],
    generic: bool = True,
) -> list[Leak]:
    """C3: any typed password. C2: a known value in full or masked beyond the declared rule; with
    ``generic``, any other valid card/ID/mobile number in full (someone else's data counts too)."""
    known = list(known)
    secrets = [p for p in passwords.values() if p]
    pairs = [(k.value, k.kind) for k in known]
    leaks: list[Leak] = []
    covered: list[tuple[int, int]] = []
    for f in find_secrets(text, passwords):
        leaks.append(Leak(where, "C3", f"{f.label}明文出现", evidence_excerpt(text, f.start, f.end, secrets, pairs)))
    for k in known:
        zh = KIND_ZH.get(k.kind, k.field)
        for f in find_value(text, k.value, k.kind):
            covered.append((f.start, f.end))
            leaks.append(
                Leak(where, "C2", f"{k.owner} 的{zh}完整出现", evidence_excerpt(text, f.start, f.end, secrets, pairs))
            )
        keep = masking.get(k.kind) or masking.get(k.field)
        if keep is None:
            continue
        for e in masked_renderings(text, k.value):
            covered.append((e.start, e.start + len(e.token)))
            if e.exceeds(keep):
                leaks.append(
                    Leak(
                        where,
                        "C2",
                        f"{k.owner} 的{zh}屏蔽不足：显示前{e.visible_prefix}后{e.visible_suffix}位"
                        f"（声明保留前{keep[0]}后{keep[1]}位）",
                        evidence_excerpt(text, e.start, e.start + len(e.token), secrets, pairs),
                    )
                )
    if generic:
        for f in find_c2(text):
            if any(f.start < hi and lo < f.end for lo, hi in covered):
                continue
            leaks.append(
                Leak(
                    where,
                    "C2",
                    f"疑似未屏蔽的{KIND_ZH[f.kind]}（{f.masked()}）",
                    evidence_excerpt(text, f.start, f.end, secrets, pairs),
                )
            )
    return leaks
