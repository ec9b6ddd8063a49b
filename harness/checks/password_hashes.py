"""How a stored password value is kept: which hash format, how strong against the lab's floors, and
whether it is the typed password in the clear, a fast digest or a salted construction of it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

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


def password_digests(password: str) -> dict[str, str]:
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
DIGEST_LIKE = re.compile(
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
    store_salts: Sequence[tuple[str, str]] = (),
) -> HashAssessment:
    """Classify one stored password value by what can be known from it. ``passwords`` maps owner
    label -> known password; ``owner_hint`` names the label whose password the row is believed to
    hold (to verify a construction); ``row_salt``: the value of a salt column beside it;
    ``store_salts``: (where, value) of salts kept elsewhere in the stores (a global salt in a
    settings file), tried only to verify a bare digest with no salt of its own."""
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
        alg = password_digests(pw).get(v) or password_digests(pw).get(v.lower())
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
    if DIGEST_LIKE.match(v):
        return _assess_digest(v, passwords, owner_hint, row_salt, store_salts)
    return HashAssessment(
        "unknown",
        True,
        "格式无法识别：不是口令明文、可逆编码或口令的无盐快速哈希，是否为加盐慢哈希无法从存储值判定",
        determined=False,
    )


def _assess_digest(
    v: str,
    passwords: Mapping[str, str],
    owner: str | None,
    salt: str | None,
    store_salts: Sequence[tuple[str, str]] = (),
) -> HashAssessment:
    """A bare hex digest (already shown not to be the unsalted digest of any known password)."""
    size = len(v) // 2
    candidates = [owner] if owner is not None and owner in passwords else list(passwords)
    # Its own salt first; else a salt kept elsewhere (only what the test passwords verify counts).
    tried = [(salt, "")] if salt else [(s, f"，盐为存储中的共用盐 {where}") for where, s in store_salts]
    for try_salt, whence in tried:
        for label in candidates:
            how = salted_construction(v, try_salt, passwords[label])
            if how is None:
                continue
            construction, rounds = how
            if rounds >= PBKDF2_FLOOR:
                return HashAssessment(
                    "pbkdf2", True, f"{construction}，{rounds} 次迭代（以测试口令验证{whence}）", try_salt, label
                )
            return HashAssessment(
                "salted-digest",
                False,
                f"{construction}（以测试口令验证{whence}）：虽加盐，但为{'单次' if rounds == 1 else f' {rounds} 次'}"
                "快速哈希，不是慢哈希",
                try_salt,
                label,
            )
    if salt:
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


def date_like(v: str) -> bool:
    return bool(re.match(r"^\d{4}-\d{2}-\d{2}", v)) or (v.isdigit() and len(v) in (10, 13))
