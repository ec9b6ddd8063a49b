"""Chapter 10 (数据安全) analysers: what a check hands in is text, stored files or JSON answers plus
what the spec declared (test accounts, masking rules); what comes back are findings with excerpts
already safe for evidence (C2 masked, C3 hidden). No pytest, no network: unit-tested on their own.

- ``scan_text``: C3 (typed passwords) and unmasked or insufficiently masked C2 in logs or pages.
- ``stored_values`` / ``assess_password_storage`` / ``stored_c3``: the sample's data files (SQLite
  databases column by column, other files as text) and how passwords are kept there.
- ``excess_in_answer``: data minimisation of an API answer (credential material, other users'
  records, internal flags and keys).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import re
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.checks.pii import (
    FIELD_KIND,
    KIND_ZH,
    evidence_mask,
    find_c2,
    find_secrets,
    find_value,
    masked_renderings,
    redact,
)
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


@dataclass(frozen=True)
class StoredValue:
    where: str  # file, or file:table.column[row]
    column: str | None
    value: str
    row: Mapping[str, Any] = field(default_factory=dict)  # the other columns of the same row


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
    scheme: str  # plaintext | encoded | md5 | pbkdf2_sha256 | bcrypt | ... | unknown
    strong: bool
    detail: str  # Chinese
    salt: str | None = None
    owner: str | None = None  # whose test password this is, when known
    note: str = ""  # advisory (passes, but below the recommended cost)


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


def assess_password_value(value: str, passwords: Mapping[str, str], owner_hint: str | None = None) -> HashAssessment:
    """Classify one stored password value. ``passwords`` maps owner label -> known password;
    ``owner_hint`` names the label whose password the row is believed to hold (to verify PBKDF2)."""
    v = value.strip()
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
        return HashAssessment("unsalted-digest?", False, f"{len(v)} 位十六进制摘要，无盐与迭代参数，疑似快速哈希")
    return HashAssessment("unknown", False, "无法识别为加盐慢哈希（PBKDF2/bcrypt/scrypt/Argon2）的格式")


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
        return {
            "位置": self.where,
            "格式": a.scheme,
            "判定": "符合" if a.strong else "不符合",
            "说明": a.detail + (f"；{a.note}" if a.note else ""),
            "对应测试账户": a.owner or "",
        }


def assess_password_storage(values: Iterable[StoredValue], accounts: Iterable[Account]) -> list[PasswordRecord]:
    """Find the stored password values (by value: a hash format or a digest of a known password;
    by name: a password-named column) and classify each; a salt shared by two values is weak."""
    accounts = list(accounts)
    passwords = typed_passwords(accounts)
    digests = {d for pw in passwords.values() for d in _digests(pw)}
    out: list[PasswordRecord] = []
    for sv in values:
        v = sv.value.strip()
        by_value = hash_format(v) is not None or v in digests or v.lower() in digests
        by_name = password_named(sv.column) and len(v) >= 4 and not _date_like(v) and v not in ("0", "1")
        if not (by_value or by_name):
            continue
        hint = _row_owner(sv.row, accounts)
        out.append(PasswordRecord(sv.where, assess_password_value(v, passwords, hint)))
    salts: dict[str, list[PasswordRecord]] = {}
    for r in out:
        if r.assessment.salt:
            salts.setdefault(r.assessment.salt, []).append(r)
    for same in salts.values():
        if len({r.where for r in same}) > 1:
            for r in same:
                a = r.assessment
                out[out.index(r)] = PasswordRecord(
                    r.where, HashAssessment(a.scheme, False, a.detail + "；与其他口令使用相同的盐", a.salt, a.owner)
                )
    return out


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
_CREDENTIAL_WORDS = frozenset({"salt", "pin", "cvv", "cvv2", "cvn", "cvn2", "cvc", "otp", "secret", "pinblock"})
_HASH_WORDS = frozenset({"hash", "hashed", "digest", "pwhash"})
_INTERNAL_WORDS = frozenset(
    {
        "failed",
        "failures",
        "failure",
        "attempts",
        "locked",
        "lockout",
        "lock",
        "admin",
        "superuser",
        "staff",
        "internal",
        "debug",
        "deleted",
        "blacklist",
        "blacklisted",
        "rowid",
        "pk",
        "oid",
    }
)
_INTERNAL_KEYS = frozenset({"_id", "uid", "user_id", "userid", "internal_id", "db_id", "rowid", "pk", "oid"})


@dataclass(frozen=True)
class Excess:
    path: str
    kind: str  # credential | other_user | internal
    detail: str  # Chinese, values masked

    def as_dict(self) -> dict[str, str]:
        zh = {"credential": "口令/凭据类信息", "other_user": "他人信息", "internal": "内部标志或内部标识"}[self.kind]
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
) -> list[Excess]:
    """What an answer to ``own`` carries beyond the use case. Value detectors decide wherever they
    can (a password-hash format, a digest or copy of a known password, another account's card/ID/
    phone in full or masked); field-name heuristics add credential and internal fields, except
    paths the spec declares as read by the use case (``returns``)."""
    others = [o for o in others if o.name != own.name]
    declared_paths = {_generic_path(d) for d in declared}
    passwords = typed_passwords([own, *others])
    digests = {d: label for label, pw in passwords.items() for d in _digests(pw)}
    own_ids = {own.account_id, own.username}
    out: list[Excess] = []
    for path, key, value in walk(body):
        gpath = _generic_path(path)
        words = set(name_words(key))
        sval = value if isinstance(value, str) else None
        if sval:
            fmt = hash_format(sval)
            if fmt:
                out.append(Excess(path, "credential", f"值为口令哈希格式（{fmt}）"))
                continue
            if sval in digests or sval.lower() in digests:
                out.append(Excess(path, "credential", f"值为{digests.get(sval) or digests[sval.lower()]}的无盐哈希"))
                continue
            hit = next((label for label, pw in passwords.items() if pw and pw in sval), None)
            if hit:
                out.append(Excess(path, "credential", f"值含{hit}（C3）"))
                continue
        has_value = value not in (None, "", [], {}) and not isinstance(value, bool)
        if gpath in declared_paths:
            continue
        if (password_named(key) or words & _CREDENTIAL_WORDS) and has_value and not (sval and _date_like(sval)):
            out.append(Excess(path, "credential", f"字段名表明为口令/凭据材料（{key}），值已隐去"))
            continue
        if words & _HASH_WORDS and sval and (_DIGEST_LIKE.match(sval) or len(sval) >= 32):
            out.append(Excess(path, "credential", f"字段 {key} 携带疑似口令散列值"))
            continue
        if (words & _INTERNAL_WORDS or key.lower() in _INTERNAL_KEYS) and not isinstance(value, dict | list):
            if key.lower() in _INTERNAL_KEYS and str(value) in own_ids:
                continue
            shown = value if isinstance(value, bool | int | float) or value is None else "…"
            out.append(Excess(path, "internal", f"内部状态或内部标识字段 {key}={shown}"))
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
