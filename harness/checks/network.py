"""Judging for chapter 11 (network security) and 9.exposure: pure functions over what the probes
measured (sslyze results, certificates, headers, answers). Thresholds here are lab policy where
JR/T 0199's text is not public; each is named so a lab can align it with its licensed copy."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def client_host_name(spec: Any, deployment: Any) -> str:
    """The host name clients use: the one in the sample's base_url, else the deployment address."""
    from urllib.parse import urlsplit

    base = getattr(spec.driver, "base_url", None)
    if base:
        host = urlsplit(deployment.url(base)).hostname
        if host:
            return str(host)
    return str(deployment.host)


# -- cipher suites ---------------------------------------------------------------------------------
MIN_SYMMETRIC_BITS = 128
_WEAK_PARTS = (
    ("NULL", "无加密（NULL）"),
    ("EXPORT", "出口级（EXPORT）"),
    ("RC4", "RC4"),
    ("3DES", "3DES"),
    ("DES_CBC", "DES"),
    ("DES40", "DES"),
    ("RC2", "RC2"),
    ("IDEA", "IDEA"),
    ("_MD5", "MD5 消息认证"),
    ("ANON", "匿名密钥交换"),
)


def suite_weaknesses(protocol: str, name: str, key_size: int, anonymous: bool) -> list[str]:
    """Why a cipher suite is weak (empty when it is acceptable)."""
    upper = name.upper()
    out = [zh for part, zh in _WEAK_PARTS if part in upper]
    if anonymous and "匿名密钥交换" not in out:
        out.append("匿名密钥交换")
    if 0 < key_size < MIN_SYMMETRIC_BITS and not out:
        out.append(f"对称密钥仅 {key_size} 位")
    if not forward_secret(protocol, name):
        out.append("无前向安全")
    return out


def forward_secret(protocol: str, name: str) -> bool:
    """TLS 1.3 suites always use an ephemeral key exchange; earlier ones only (EC)DHE (and ECC-less
    TLCP ECDHE)."""
    if protocol == "TLS 1.3":
        return True
    upper = name.upper()
    return any(k in upper for k in ("_ECDHE_", "_DHE_", "ECDHE_SM4", "_EDH_", "TLS_ECDHE", "TLS_DHE"))


# -- certificates ----------------------------------------------------------------------------------
MIN_RSA_BITS = 2048
MIN_EC_BITS = 256
WEAK_SIGNATURE_HASHES = {"md5", "sha1", "md2", "md4"}


@dataclass
class CertReport:
    subject: str
    issuer: str
    not_before: datetime
    not_after: datetime
    key: str  # "RSA 2048" | "EC secp256r1 256" | ...
    signature: str
    names: list[str]
    self_signed: bool
    chain_length: int
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.isoformat(),
            "not_after": self.not_after.isoformat(),
            "key": self.key,
            "signature": self.signature,
            "names": self.names,
            "self_signed": self.self_signed,
            "chain_length": self.chain_length,
            "problems": self.problems,
            "notes": self.notes,
        }


def _names(cert: Any) -> tuple[list[str], list[str]]:
    """(DNS names, IP addresses) of the certificate's subjectAltName, or the CN if it has none."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return san.get_values_for_type(x509.DNSName), [str(a) for a in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        cns = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
        return cns, []


def host_matches(host: str, dns_names: list[str], ips: list[str]) -> bool:
    host = host.strip("[]").lower().rstrip(".")
    try:
        addr = ipaddress.ip_address(host)
    except ValueError:
        addr = None
    if addr is not None:
        return any(ipaddress.ip_address(i) == addr for i in ips)
    for name in (n.lower().rstrip(".") for n in dns_names):
        if name == host:
            return True
        if name.startswith("*.") and "." in host and host.split(".", 1)[1] == name[2:] and "*" not in name[2:]:
            return True
    return False


def judge_certificate(chain_pem: list[str], host: str, now: datetime | None = None) -> CertReport:
    """Validity period, key strength, signature hash and host name of the leaf certificate.

    A self-signed (or privately issued) certificate is normal in a type-test deployment: the lab
    reports it as an observation, not a failure. What the sample controls is still judged.
    """
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

    if not chain_pem:
        raise ValueError("no certificate received")
    now = now or datetime.now(UTC)
    leaf = x509.load_pem_x509_certificate(chain_pem[0].encode())
    pub = leaf.public_key()
    problems: list[str] = []
    if isinstance(pub, rsa.RSAPublicKey):
        key = f"RSA {pub.key_size}"
        if pub.key_size < MIN_RSA_BITS:
            problems.append(f"RSA 密钥仅 {pub.key_size} 位（应不少于 {MIN_RSA_BITS} 位）")
    elif isinstance(pub, ec.EllipticCurvePublicKey):
        key = f"EC {pub.curve.name} {pub.curve.key_size}"
        if pub.curve.key_size < MIN_EC_BITS:
            problems.append(f"EC 密钥仅 {pub.curve.key_size} 位（应不少于 {MIN_EC_BITS} 位）")
    elif isinstance(pub, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        key = type(pub).__name__.removesuffix("PublicKey")
    elif isinstance(pub, dsa.DSAPublicKey):
        key = f"DSA {pub.key_size}"
        problems.append("DSA 证书密钥")
    else:
        key = type(pub).__name__
    hash_alg = leaf.signature_hash_algorithm
    sig = f"{leaf.signature_algorithm_oid._name}"
    if hash_alg is not None and hash_alg.name.lower() in WEAK_SIGNATURE_HASHES:
        problems.append(f"证书签名使用弱摘要算法 {hash_alg.name}")
    nb, na = leaf.not_valid_before_utc, leaf.not_valid_after_utc
    if now < nb:
        problems.append(f"证书尚未生效（生效时间 {nb:%Y-%m-%d %H:%M} UTC）")
    if now > na:
        problems.append(f"证书已过期（到期时间 {na:%Y-%m-%d %H:%M} UTC）")
    dns, ips = _names(leaf)
    if not host_matches(host, dns, ips):
        problems.append(f"证书名称 {', '.join(dns + ips) or '（无）'} 与访问地址 {host} 不匹配")
    self_signed = leaf.issuer == leaf.subject
    notes = []
    if self_signed:
        notes.append("证书为自签名（测试部署常见，记为观察项，不作为不符合）")
    if now <= na:
        notes.append(f"剩余有效期 {(na - now).days} 天")
    return CertReport(
        subject=leaf.subject.rfc4514_string(),
        issuer=leaf.issuer.rfc4514_string(),
        not_before=nb,
        not_after=na,
        key=key,
        signature=sig,
        names=dns + ips,
        self_signed=self_signed,
        chain_length=len(chain_pem),
        problems=problems,
        notes=notes,
    )


# -- security headers ------------------------------------------------------------------------------
HSTS_MIN_MAX_AGE = 31_536_000  # one year


def hsts_max_age(value: str | None) -> int | None:
    if not value:
        return None
    m = re.search(r"max-age\s*=\s*\"?(\d+)", value, re.IGNORECASE)
    return int(m.group(1)) if m else None


def header_problems(headers: Any, over_tls: bool) -> list[str]:
    """Missing or weak security headers in one answer (`headers`: a case-insensitive mapping)."""
    out = []
    if over_tls:
        age = hsts_max_age(headers.get("Strict-Transport-Security"))
        if age is None:
            out.append("缺少 Strict-Transport-Security")
        elif age < HSTS_MIN_MAX_AGE:
            out.append(f"HSTS max-age={age}，低于一年（{HSTS_MIN_MAX_AGE}）")
    if (headers.get("X-Content-Type-Options") or "").strip().lower() != "nosniff":
        out.append("缺少 X-Content-Type-Options: nosniff")
    xfo = (headers.get("X-Frame-Options") or "").strip().upper()
    csp = headers.get("Content-Security-Policy") or ""
    if xfo not in ("DENY", "SAMEORIGIN") and "frame-ancestors" not in csp.lower():
        out.append("缺少 X-Frame-Options 或 CSP frame-ancestors（点击劫持防护）")
    return out


# -- verbose errors --------------------------------------------------------------------------------
ERROR_LEAK_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("Python 堆栈", re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+")),
    ("Java 堆栈", re.compile(r"\bat [\w$.]+\([\w$]+\.java:\d+\)|Exception in thread \"")),
    (".NET 堆栈", re.compile(r"\bat [\w.]+\(.*\) in .+:line \d+|System\.\w+Exception")),
    ("Node.js 堆栈", re.compile(r"\bat .+ \((?:/|[A-Z]:\\).+\.js:\d+:\d+\)")),
    ("PHP 错误", re.compile(r"(Fatal error|Warning|Parse error)</b>:|\bon line <b>\d+</b>|PHP (Fatal|Warning)")),
    ("Go panic", re.compile(r"goroutine \d+ \[running\]|panic: ")),
    (
        "SQL 语句或数据库错误",
        re.compile(
            r"\bSELECT\s.+\sFROM\s|\bINSERT\s+INTO\s|\bUPDATE\s+\w+\s+SET\s|sqlite3\.\w*Error|"
            r"SQLSTATE\[|ORA-\d{5}|You have an error in your SQL syntax|psycopg2?\.|SQLException",
            re.IGNORECASE | re.DOTALL,
        ),
    ),
    (
        "服务器内部路径",
        re.compile(
            r"(?:/usr/(?:local/)?lib/python\d|/site-packages/|/home/\w+/|/root/|[A-Z]:\\\\?(?:Users|inetpub)\\)"
        ),
    ),
]
_VERSIONED_PRODUCT = re.compile(r"[A-Za-z][\w.-]*/\d+(?:\.\d+)+")


def error_leaks(text: str) -> list[str]:
    """What an answer body gives away (pattern name: first match)."""
    out = []
    for name, pat in ERROR_LEAK_PATTERNS:
        m = pat.search(text)
        if m:
            out.append(f"{name}：{m.group(0)[:80]!r}")
    return out


def header_leaks(headers: Any) -> list[str]:
    """Framework or server versions in Server / X-Powered-By / X-AspNet-Version headers."""
    out = []
    for h in ("Server", "X-Powered-By", "X-AspNet-Version", "X-AspNetMvc-Version"):
        v = headers.get(h)
        if v and (h != "Server" or _VERSIONED_PRODUCT.search(v)):
            out.append(f"{h}: {v}")
    return out
