"""Chapter 10 (数据安全) analysers: what a check hands in is text, stored files or JSON answers plus
what the spec declared (test accounts, masking rules); what comes back are findings with excerpts
already safe for evidence (C2 masked, C3 hidden). No pytest, no network: unit-tested on their own.

- ``scan_text``: C3 (typed passwords) and unmasked or insufficiently masked C2 in logs or pages.
- ``stored_values`` / ``assess_password_storage`` / ``stored_c3``: the sample's data files (SQLite
  databases column by column, other files as text) and how passwords are kept there.
- ``excess_in_answer``: what an API answer carries beyond the use case: credential material
  (passwords, password hashes, reset and one-time codes, PINs, another account's session
  credential), full card and ID numbers, and other accounts' data. A plain flag (locked, admin,
  deleted) reveals no person, credential or account and is not over-exposure.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.checks.pii import (
    FIELD_KIND,
    KIND_ZH,
    evidence_mask,
    find_c2,
    find_cards,
    find_id_numbers,
    find_secrets,
    find_value,
    masked_renderings,
    redact,
)
from harness.probes.stores import StoredValue
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


def _excerpt(text: str, start: int, end: int, secrets: Iterable[str], known: Iterable[tuple[str, str]]) -> str:
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
        leaks.append(Leak(where, "C3", f"{f.label}明文出现", _excerpt(text, f.start, f.end, secrets, pairs)))
    for k in known:
        zh = KIND_ZH.get(k.kind, k.field)
        for f in find_value(text, k.value, k.kind):
            covered.append((f.start, f.end))
            leaks.append(Leak(where, "C2", f"{k.owner} 的{zh}完整出现", _excerpt(text, f.start, f.end, secrets, pairs)))
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
                        _excerpt(text, e.start, e.start + len(e.token), secrets, pairs),
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
                    _excerpt(text, f.start, f.end, secrets, pairs),
                )
            )
    return leaks


# -- what the sample stores ----------------------------------------------------------------------
SQLITE_MAGIC = b"SQLite format 3\x00"


def stored_values(name: str, blob: bytes, wal: bytes | None = None) -> list[StoredValue]:
    """Every text value a data file holds: each text (or UTF-8 blob) cell of each table of a SQLite
    database (opened as a temporary copy, with its write-ahead log when given), else each line."""
    if blob.startswith(SQLITE_MAGIC):
        return list(_sqlite_values(name, blob, wal))
    text = blob.decode("utf-8", errors="replace")
    return [StoredValue(f"{name}:{i}", None, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]


def _sqlite_values(name: str, blob: bytes, wal: bytes | None) -> Iterator[StoredValue]:
    with tempfile.TemporaryDirectory(prefix="harness-db-") as tmp:
        db = Path(tmp) / "copy.db"
        db.write_bytes(blob)
        if wal:
            (Path(tmp) / "copy.db-wal").write_bytes(wal)
        conn = sqlite3.connect(db)
        try:
            conn.text_factory = lambda b: b.decode("utf-8", errors="replace")
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                if table.startswith("sqlite_"):
                    continue
                q = '"' + table.replace('"', '""') + '"'
                cur = conn.execute(f"SELECT * FROM {q}")
                cols = [d[0] for d in cur.description]
                for i, row in enumerate(cur, 1):
                    as_dict = dict(zip(cols, row, strict=True))
                    for col, v in as_dict.items():
                        if isinstance(v, bytes):
                            try:
                                v = v.decode("utf-8")
                            except UnicodeDecodeError:
                                continue
                        if isinstance(v, str) and v:
                            yield StoredValue(f"{name}:{table}.{col}[{i}]", col, v, as_dict)
        finally:
            conn.close()


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
# Lab policy (JR/T 0199/0171 name no numbers): below the FLOOR a password store fails; between the
# floor and the RECOMMENDED value the check passes and says so. Floors: NIST SP 800-63B (PBKDF2 at
# least 10 000 iterations), OWASP minimums for bcrypt/scrypt/Argon2id; recommended: OWASP 2023.
PBKDF2_FLOOR = 10_000
PBKDF2_RECOMMENDED = {"sha1": 1_300_000, "sha256": 600_000, "sha512": 210_000}
BCRYPT_FLOOR = 10
SCRYPT_FLOOR_N = 2**14
SCRYPT_RECOMMENDED_N = 2**17
ARGON2_FLOOR_M_KIB = 7168
ARGON2_FLOOR_M_TIMES_T = 35_840  # OWASP's pairs (47104,1) (19456,2) (12288,3) (9216,4) (7168,5)

_FAST_DIGESTS = ("md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_256", "sm3")


@dataclass(frozen=True)
class HashAssessment:
    scheme: str  # plaintext | encoded | md5 | pbkdf2_sha256 | bcrypt | salted-digest | ... | unknown
    strong: bool  # False: shown to be weak; True: shown to be strong, or nothing weak could be shown
    detail: str  # Chinese
    salt: str | None = None
    owner: str | None = None  # whose test password this is, when known
    note: str = ""  # advisory (passes, but below the recommended cost)
    # False: what the store shows cannot settle it (the work factor of a salted digest, a format no
    # one recognises): said so, never failed.
    determined: bool = True


def _digests(password: str) -> dict[str, str]:
    """Unsalted fast digests of one password, as hex (lower) and base64, per algorithm."""
    out: dict[str, str] = {}
    raw = password.encode("utf-8")
    for alg in _FAST_DIGESTS:
        try:
            d = hashlib.new(alg, raw).digest()
        except ValueError:
            continue  # this OpenSSL lacks the algorithm (SM3 on some builds)
        out[d.hex()] = alg
        out[base64.b64encode(d).decode()] = alg
    return out


_BCRYPT = re.compile(r"^\$2[abxy]?\$(\d{2})\$[./A-Za-z0-9]{53}$")
_ARGON2 = re.compile(r"^\$argon2(id|i|d)\$(?:v=\d+\$)?m=(\d+),t=(\d+),p=(\d+)\$([^$]+)\$[^$]+$")
_SCRYPT_PASSLIB = re.compile(r"^\$scrypt\$ln=(\d+),r=(\d+),p=(\d+)\$([^$]+)\$[^$]+$")
_SCRYPT_WERKZEUG = re.compile(r"^scrypt:(\d+):(\d+):(\d+)\$([^$]+)\$[0-9a-f]+$")
_SCRYPT_DJANGO = re.compile(r"^scrypt\$(\d+)\$([^$]+)\$(\d+)\$(\d+)\$[^$]+$")
_PBKDF2_DJANGO = re.compile(r"^pbkdf2_(sha1|sha256|sha512)\$(\d+)\$([^$]+)\$([^$]+)$")
_PBKDF2_PASSLIB = re.compile(r"^\$pbkdf2(?:-(sha256|sha512))?\$(\d+)\$([^$]+)\$([^$]+)$")
_PBKDF2_WERKZEUG = re.compile(r"^pbkdf2:(sha1|sha256|sha512):(\d+)\$([^$]+)\$([0-9a-f]+)$")
_CRYPT_WEAK = re.compile(r"^\$(1|apr1|md5)\$")
_DIGEST_LIKE = re.compile(
    r"^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{56}|[0-9a-fA-F]{64}|[0-9a-fA-F]{96}|[0-9a-fA-F]{128})$"
)


def hash_format(value: str) -> str | None:
    """The name of a recognised password-hash format, or None (used to spot hashes anywhere)."""
    for name, rx in (
        ("bcrypt", _BCRYPT),
        ("argon2", _ARGON2),
        ("scrypt", _SCRYPT_PASSLIB),
        ("scrypt", _SCRYPT_WERKZEUG),
        ("scrypt", _SCRYPT_DJANGO),
        ("pbkdf2", _PBKDF2_DJANGO),
        ("pbkdf2", _PBKDF2_PASSLIB),
        ("pbkdf2", _PBKDF2_WERKZEUG),
        ("md5-crypt", _CRYPT_WEAK),
    ):
        if rx.match(value):
            return name
    return None


def _pbkdf2_matches(password: str, prf: str, iterations: int, salt: str, digest: str, style: str) -> bool:
    """Verify a PBKDF2 value against a known password (refpay/Django hex or base64 salts)."""
    salts = [salt.encode()]
    if re.fullmatch(r"[0-9a-f]+", salt) and len(salt) % 2 == 0:
        salts.insert(0, bytes.fromhex(salt))
    if style == "passlib":
        with contextlib.suppress(ValueError):
            salts.insert(0, base64.b64decode(salt.replace(".", "+") + "=" * (-len(salt) % 4)))
    for s in salts:
        d = hashlib.pbkdf2_hmac(prf, password.encode("utf-8"), s, iterations)
        if digest.lower() == d.hex() or digest.rstrip("=") == base64.b64encode(d).decode().rstrip("="):
            return True
        if style == "passlib" and digest == base64.b64encode(d).decode().rstrip("=").replace("+", "."):
            return True
    return False


_SCHEME_PREFIX = re.compile(r"^\{([A-Za-z0-9_.-]{1,20})\}")  # Spring's {bcrypt}$2a$..., {noop}, {SSHA}
# PBKDF2 iteration counts frameworks use by default, tried when a digest sits beside its salt.
_COMMON_ITERATIONS = (1, 1000, 10_000, 100_000, 210_000, 600_000)


def assess_password_value(
    value: str,
    passwords: Mapping[str, str],
    owner_hint: str | None = None,
    row_salt: str | None = None,
) -> HashAssessment:
    """Classify one stored password value by what can be known from it. ``passwords`` maps owner
    label -> known password; ``owner_hint`` names the label whose password the row is believed to
    hold (to verify a construction); ``row_salt``: the value of a salt column beside it."""
    v = value.strip()
    prefix = _SCHEME_PREFIX.match(v)
    if prefix and not hash_format(v):
        v = v[prefix.end() :]
    for owner, pw in passwords.items():
        if v == pw:
            return HashAssessment("plaintext", False, "口令明文存储", owner=owner)
        raw = pw.encode("utf-8")
        if v in (raw.hex(), base64.b64encode(raw).decode()):
            return HashAssessment("encoded", False, "口令以可逆编码（十六进制/Base64）存储", owner=owner)
        alg = _digests(pw).get(v) or _digests(pw).get(v.lower())
        if alg:
            return HashAssessment(alg, False, f"口令以无盐快速哈希 {alg.upper()} 存储", owner=owner)
    if m := _BCRYPT.match(v):
        cost = int(m.group(1))
        ok = cost >= BCRYPT_FLOOR
        return HashAssessment("bcrypt", ok, f"bcrypt，cost={cost}" + ("" if ok else f"，低于 {BCRYPT_FLOOR}"), v[7:29])
    if m := _ARGON2.match(v):
        mem, t = int(m.group(2)), int(m.group(3))
        ok = mem >= ARGON2_FLOOR_M_KIB and mem * t >= ARGON2_FLOOR_M_TIMES_T
        return HashAssessment(
            f"argon2{m.group(1)}",
            ok,
            f"Argon2{m.group(1)}，m={mem} KiB，t={t}" + ("" if ok else "，代价不足"),
            m.group(5),
        )
    scrypt = _scrypt_params(v)
    if scrypt is not None:
        n, scrypt_salt = scrypt
        ok = n >= SCRYPT_FLOOR_N
        note = "" if n >= SCRYPT_RECOMMENDED_N else f"N={n} 低于 OWASP 建议值 {SCRYPT_RECOMMENDED_N}"
        return HashAssessment(
            "scrypt", ok, f"scrypt，N={n}" + ("" if ok else "，代价不足"), scrypt_salt, note=note if ok else ""
        )
    pb = _pbkdf2_params(v)
    if pb is not None:
        prf, iterations, salt, digest, style = pb
        ok = iterations >= PBKDF2_FLOOR and len(salt) >= 8
        rec = PBKDF2_RECOMMENDED.get(prf, 600_000)
        note = f"迭代次数 {iterations} 低于 OWASP 2023 建议值 {rec}，建议提高" if ok and iterations < rec else ""
        matched: str | None = None
        if (
            owner_hint
            and owner_hint in passwords
            and _pbkdf2_matches(passwords[owner_hint], prf, iterations, salt, digest, style)
        ):
            matched = owner_hint
        detail = f"PBKDF2-HMAC-{prf.upper()}，{iterations} 次迭代，盐长 {len(salt)} 字符"
        if not ok:
            detail += f"，低于下限（迭代 ≥ {PBKDF2_FLOOR}，盐 ≥ 8 字符）"
        return HashAssessment(f"pbkdf2_{prf}", ok, detail, salt, matched, note)
    if _CRYPT_WEAK.match(v):
        return HashAssessment("md5-crypt", False, "MD5-crypt（固定 1000 轮，已不安全）")
    if _DIGEST_LIKE.match(v):
        return _assess_digest(v, passwords, owner_hint, row_salt)
    return HashAssessment(
        "unknown",
        True,
        "格式无法识别：不是口令明文、可逆编码或口令的无盐快速哈希，是否为加盐慢哈希无法从存储值判定",
        determined=False,
    )


def _assess_digest(v: str, passwords: Mapping[str, str], owner: str | None, salt: str | None) -> HashAssessment:
    """A bare hex digest (already shown not to be the unsalted digest of any known password)."""
    size = len(v) // 2
    if salt:
        candidates = [owner] if owner is not None and owner in passwords else list(passwords)
        for label in candidates:
            how = salted_construction(v, salt, passwords[label])
            if how is None:
                continue
            construction, rounds = how
            if rounds >= PBKDF2_FLOOR:
                return HashAssessment("pbkdf2", True, f"{construction}，{rounds} 次迭代（以测试口令验证）", salt, label)
            return HashAssessment(
                "salted-digest",
                False,
                f"{construction}（以测试口令验证）：虽加盐，但为{'单次' if rounds == 1 else f' {rounds} 次'}快速哈希，"
                "不是慢哈希",
                salt,
                label,
            )
        return HashAssessment(
            "salted-digest",
            True,
            f"{len(v)} 位十六进制摘要，同行有盐值列：已加盐；所用算法与工作因子无法从存储判定（未判为不符合）",
            salt,
            determined=False,
        )
    mine = f"，不是{owner}的无盐摘要" if owner is not None and owner in passwords else ""
    return HashAssessment(
        f"digest-{size * 8}bit",
        True,
        f"{len(v)} 位十六进制摘要{mine}；盐与工作因子无法从存储判定（未判为不符合）",
        determined=False,
    )


def salted_construction(digest: str, salt: str, password: str) -> tuple[str, int] | None:
    """How ``digest`` was made from ``password`` and ``salt``, when it is one of the common
    constructions: a fast hash of salt+password or password+salt, an HMAC keyed with either, or
    PBKDF2 at a framework's default count. (description, rounds), or None."""
    target = bytes.fromhex(digest)
    salts = [salt.encode()]
    if re.fullmatch(r"(?:[0-9a-fA-F]{2})+", salt):
        salts.append(bytes.fromhex(salt))
    with contextlib.suppress(ValueError):
        salts.append(base64.b64decode(salt, validate=True))
    pw = password.encode("utf-8")
    for alg in _FAST_DIGESTS:
        try:
            if hashlib.new(alg).digest_size != len(target):
                continue
        except ValueError:
            continue
        name = alg.upper()
        for sb in salts:
            for text, made in (
                (f"{name}(盐+口令)", hashlib.new(alg, sb + pw).digest()),
                (f"{name}(口令+盐)", hashlib.new(alg, pw + sb).digest()),
                (f"HMAC-{name}(以盐为密钥)", hmac.new(sb, pw, alg).digest()),
                (f"HMAC-{name}(以口令为密钥)", hmac.new(pw, sb, alg).digest()),
            ):
                if made == target:
                    return text, 1
            if alg in ("sha1", "sha256", "sha512"):
                for n in _COMMON_ITERATIONS[1:]:
                    if hashlib.pbkdf2_hmac(alg, pw, sb, n) == target:
                        return f"PBKDF2-HMAC-{name}", n
    return None


def _scrypt_params(v: str) -> tuple[int, str] | None:
    if m := _SCRYPT_PASSLIB.match(v):
        return 2 ** int(m.group(1)), m.group(4)
    if m := _SCRYPT_WERKZEUG.match(v):
        return int(m.group(1)), m.group(4)
    if m := _SCRYPT_DJANGO.match(v):
        return int(m.group(1)), m.group(2)
    return None


def _pbkdf2_params(v: str) -> tuple[str, int, str, str, str] | None:
    if m := _PBKDF2_DJANGO.match(v):
        return m.group(1), int(m.group(2)), m.group(3), m.group(4), "django"
    if m := _PBKDF2_PASSLIB.match(v):
        return m.group(1) or "sha1", int(m.group(2)), m.group(3), m.group(4), "passlib"
    if m := _PBKDF2_WERKZEUG.match(v):
        return m.group(1), int(m.group(2)), m.group(3), m.group(4), "werkzeug"
    return None


def _date_like(v: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", v)) or (v.isdigit() and len(v) in (10, 13))


@dataclass(frozen=True)
class PasswordRecord:
    where: str
    assessment: HashAssessment

    def as_dict(self) -> dict[str, Any]:
        a = self.assessment
        verdict = "不符合" if not a.strong else "符合" if a.determined else "无法判定（未判为不符合）"
        return {
            "位置": self.where,
            "格式": a.scheme,
            "判定": verdict,
            "说明": a.detail + (f"；{a.note}" if a.note else ""),
            "对应测试账户": a.owner or "",
        }


def assess_password_storage(values: Iterable[StoredValue], accounts: Iterable[Account]) -> list[PasswordRecord]:
    """Find the stored password values (by value: a hash format or a digest of a known password;
    by name: a password-named column) and classify each. A salt shared by different hashes is weak;
    the same hash stored twice (a copy, a history row) shares its salt with itself, which is not."""
    accounts = list(accounts)
    passwords = typed_passwords(accounts)
    digests = {d for pw in passwords.values() for d in _digests(pw)}
    out: list[tuple[PasswordRecord, str]] = []
    for sv in values:
        v = sv.value.strip()
        by_value = hash_format(v) is not None or v in digests or v.lower() in digests
        by_name = password_named(sv.column) and len(v) >= 4 and not _date_like(v) and v not in ("0", "1")
        if not (by_value or by_name):
            continue
        hint = _row_owner(sv.row, accounts)
        a = assess_password_value(v, passwords, hint, _row_salt(sv))
        out.append((PasswordRecord(sv.where, a), v))
    by_salt: dict[str, set[str]] = {}
    for r, v in out:
        if r.assessment.salt:
            by_salt.setdefault(r.assessment.salt, set()).add(v)
    records = []
    for r, _v in out:
        a = r.assessment
        if a.salt and len(by_salt[a.salt]) > 1:
            others = len(by_salt[a.salt]) - 1
            shared = f"；与另外 {others} 个不同的口令哈希使用相同的盐"
            a = HashAssessment(a.scheme, False, a.detail + shared, a.salt, a.owner)
        records.append(PasswordRecord(r.where, a))
    return records


def _row_salt(sv: StoredValue) -> str | None:
    """The value of a salt column in the same row (``salt``, ``password_salt``, ``pwdSalt``)."""
    for col, value in sv.row.items():
        if col != sv.column and "salt" in name_words(str(col)) and isinstance(value, str | bytes) and value:
            return value.hex() if isinstance(value, bytes) else value
    return None


def _row_owner(row: Mapping[str, Any], accounts: list[Account]) -> str | None:
    cells = {str(v) for v in row.values() if v is not None}
    for a in accounts:
        if a.username in cells or a.account_id in cells:
            return f"{a.name} 的口令"
    return None


def stored_c3(values: Iterable[StoredValue], accounts: Iterable[Account]) -> list[Leak]:
    """C3 at rest: a typed password anywhere (plain, hex or Base64), or a filled card-verification,
    PIN or track-data column."""
    accounts = list(accounts)
    passwords = typed_passwords(accounts)
    forms = {}
    for label, pw in passwords.items():
        raw = pw.encode("utf-8")
        forms[pw] = label
        forms[raw.hex()] = label + "（十六进制编码）"
        forms[base64.b64encode(raw).decode()] = label + "（Base64 编码）"
    leaks = []
    secrets = list(forms)
    for sv in values:
        for form, label in forms.items():
            if form in sv.value:
                i = sv.value.index(form)
                excerpt = _excerpt(sv.value, i, i + len(form), secrets, ())
                leaks.append(Leak(sv.where, "C3", f"{label}明文存储", excerpt))
        if sv.column and c3_named(sv.column) and sv.value.strip() not in ("", "0"):
            leaks.append(Leak(sv.where, "C3", f"存储了卡片验证码/PIN/磁道类字段 {sv.column}", "［已隐去］"))
    return leaks


# -- data minimisation of API answers --------------------------------------------------------------
# Field names that say a value is credential material (second to the value detectors).
_CREDENTIAL_WORDS = frozenset({"salt", "pin", "cvv", "cvv2", "cvn", "cvn2", "cvc", "otp", "totp", "secret", "pinblock"})
_HASH_WORDS = frozenset({"hash", "hashed", "digest", "pwhash"})
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


@dataclass(frozen=True)
class Excess:
    path: str
    kind: str  # credential | personal | other_user
    detail: str  # Chinese, values masked

    def as_dict(self) -> dict[str, str]:
        zh = {"credential": "口令/凭据类信息", "personal": "完整的个人金融信息", "other_user": "他人信息"}[self.kind]
        return {"字段": self.path, "类别": zh, "说明": self.detail}


def walk(obj: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """(dotted path, key, value) for every leaf of a JSON document."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            p = f"{path}.{k}" if path else str(k)
            if isinstance(v, dict | list):
                yield from walk(v, p)
            else:
                yield p, str(k), v
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from walk(v, f"{path}.{i}" if path else str(i))
    else:
        yield path, "", obj


def _generic_path(path: str) -> str:
    return re.sub(r"\.\d+(?=\.|$)", "", path)


def excess_in_answer(
    body: Any,
    own: Account,
    others: Iterable[Account],
    declared: Iterable[str] = (),
    secrets: Mapping[str, str] | None = None,
) -> list[Excess]:
    """What an answer to ``own`` carries beyond the use case: something that reveals a person, a
    credential or another account. Value detectors decide wherever they can: a password-hash
    format, a typed password or its digest, another account's session credential (``secrets``:
    label -> value), a full card number (Luhn) or resident ID number, another account's card, ID or
    phone, full or masked. Field names add credential material (passwords, PINs, reset and one-time
    codes, salts, hashes), except at paths the spec declares as read by the use case (``returns``).
    The account's own card or ID number in full at a declared path is display masking's business."""
    others = [o for o in others if o.name != own.name]
    declared_paths = {_generic_path(d) for d in declared}
    passwords = typed_passwords([own, *others])
    digests = {d: label for label, pw in passwords.items() for d in _digests(pw)}
    foreign = {v: label for label, v in (secrets or {}).items() if v and len(v) >= 8}
    own_c2 = {re.sub(r"[ -]", "", str(getattr(own, f))) for f in FIELD_KIND if getattr(own, f, None)}
    others_c2 = {re.sub(r"[ -]", "", str(getattr(o, f))) for o in others for f in FIELD_KIND if getattr(o, f, None)}
    out: list[Excess] = []
    for path, key, value in walk(body):
        declared_here = _generic_path(path) in declared_paths
        sval = value if isinstance(value, str) else None
        if sval:
            hit = _credential_value(sval, passwords, digests, foreign)
            if hit:
                out.append(Excess(path, "credential", hit))
                continue
            for f in [*find_cards(sval), *find_id_numbers(sval)]:
                if f.normal in others_c2:
                    continue  # reported below, with whose it is
                if f.normal in own_c2 and declared_here:
                    continue
                whose = "本人" if f.normal in own_c2 else "非测试账户（他人）"
                out.append(Excess(path, "personal", f"含{whose}完整{KIND_ZH[f.kind]}（{f.masked()}）"))
        has_value = value not in (None, "", [], {}) and not isinstance(value, bool)
        if declared_here or not has_value or (sval and _date_like(sval)):
            continue
        words = set(name_words(key))
        if password_named(key) or words & _CREDENTIAL_WORDS or code_named(key):
            out.append(Excess(path, "credential", f"字段名表明为口令、验证码或凭据材料（{key}），值已隐去"))
        elif words & _HASH_WORDS and sval and (_DIGEST_LIKE.match(sval) or len(sval) >= 32):
            out.append(Excess(path, "credential", f"字段 {key} 携带疑似口令散列值"))
    text = json.dumps(body, ensure_ascii=False) if not isinstance(body, str) else body
    for k in known_values(others):
        zh = KIND_ZH.get(k.kind, k.field)
        if find_value(text, k.value, k.kind):
            shown = evidence_mask(k.value, k.kind)
            out.append(Excess("(应答正文)", "other_user", f"含账户 {k.owner} 的{zh}（{shown}）"))
        elif any(e.visible_prefix + e.visible_suffix >= 6 for e in masked_renderings(text, k.value)):
            # A masked rendering of someone else's number still identifies their record.
            out.append(Excess("(应答正文)", "other_user", f"含账户 {k.owner} 的{zh}（屏蔽形式）"))
    return out


def _credential_value(
    sval: str, passwords: Mapping[str, str], digests: Mapping[str, str], foreign: Mapping[str, str]
) -> str | None:
    fmt = hash_format(sval)
    if fmt:
        return f"值为口令哈希格式（{fmt}）"
    label = digests.get(sval) or digests.get(sval.lower())
    if label:
        return f"值为{label}的无盐哈希"
    hit = next((label for label, pw in passwords.items() if pw and pw in sval), None)
    if hit:
        return f"值含{hit}（C3）"
    other = next((label for secret, label in foreign.items() if secret in sval), None)
    if other:
        return f"值含{other}"
    return None
