"""National-algorithm (SM2/SM3/SM4) transport probes, judged by the server's first answer.

OpenSSL 3 has SM3 and SM4 but no TLCP handshake, and Python's ``ssl`` cannot offer the RFC 8998
suites, so the probe writes the ClientHello itself and reads only the ServerHello:

- RFC 8998 (TLS 1.3 with ShangMi): cipher suites TLS_SM4_GCM_SM3 (0x00C6) and TLS_SM4_CCM_SM3
  (0x00C7) only, supported_groups curveSM2 (0x0029), signature_algorithms sm2sig_sm3 (0x0708), and
  a key_share with a real SM2 public key (made with gmssl), so a server that supports the suite
  has every reason to answer with a ServerHello (or a HelloRetryRequest) naming it;
- TLCP (GB/T 38636-2020, protocol version 1.1 = 0x0101): ECC_SM4_CBC_SM3, ECDHE_SM4_CBC_SM3 and
  their GCM forms.

What is NOT verified: the rest of the handshake (the server's SM2 certificate, its signature, the
record protection). A ServerHello choosing an SM suite shows the server offers it; a lab that
needs the whole handshake uses a TLCP-capable client (e.g. Tongsuo) as a second instrument.
"""

from __future__ import annotations

import ipaddress
import os
import struct
from dataclasses import dataclass

from harness.deploy.scope import ScopeGuard

TLS13_SM_SUITES = {0x00C6: "TLS_SM4_GCM_SM3", 0x00C7: "TLS_SM4_CCM_SM3"}
TLCP_SUITES = {
    0xE013: "ECC_SM4_CBC_SM3",
    0xE011: "ECDHE_SM4_CBC_SM3",
    0xE053: "ECC_SM4_GCM_SM3",
    0xE051: "ECDHE_SM4_GCM_SM3",
}
CURVE_SM2 = 0x0029
SM2SIG_SM3 = 0x0708
_HRR_RANDOM = bytes.fromhex("CF21AD74E59A6111BE1D8C021E65B891C2A211167ABB8C5E079E09E2C8A8339C")
_ALERTS = {
    40: "handshake_failure",
    47: "illegal_parameter",
    50: "decode_error",
    70: "protocol_version",
    71: "insufficient_security",
}


@dataclass
class SmProbe:
    protocol: str  # "TLS 1.3 (RFC 8998)" | "TLCP 1.1"
    offered: list[str]
    supported: bool
    chosen: str | None  # the suite the server chose, if any
    answer: str  # what the server did, for the report
    client_hello_hex: str
    server_bytes_hex: str


def _ext(kind: int, body: bytes) -> bytes:
    return struct.pack("!HH", kind, len(body)) + body


def _vec(data: bytes, width: int) -> bytes:
    return len(data).to_bytes(width, "big") + data


def _sm2_public_point() -> bytes:
    from gmssl import func, sm2

    priv = func.random_hex(64)
    xy = sm2.CryptSM2(private_key=priv, public_key="")._kg(int(priv, 16), sm2.default_ecc_table["g"])
    return b"\x04" + bytes.fromhex(xy)


def _client_hello(record_version: int, hello_version: int, suites: list[int], extensions: bytes) -> bytes:
    body = struct.pack("!H", hello_version) + os.urandom(32) + _vec(os.urandom(32), 1)
    body += _vec(b"".join(struct.pack("!H", s) for s in suites), 2) + b"\x01\x00"
    if extensions:
        body += _vec(extensions, 2)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 0x16, record_version, len(hs)) + hs


def tls13_sm_hello(server_name: str | None) -> bytes:
    exts = b""
    if server_name and not _is_ip(server_name):
        name = server_name.encode()
        exts += _ext(0, _vec(b"\x00" + _vec(name, 2), 2))
    exts += _ext(10, _vec(struct.pack("!H", CURVE_SM2), 2))
    exts += _ext(13, _vec(struct.pack("!H", SM2SIG_SM3), 2))
    exts += _ext(43, _vec(struct.pack("!H", 0x0304), 1))
    exts += _ext(45, _vec(b"\x01", 1))  # psk_dhe_ke
    share = struct.pack("!H", CURVE_SM2) + _vec(_sm2_public_point(), 2)
    exts += _ext(51, _vec(share, 2))
    return _client_hello(0x0301, 0x0303, list(TLS13_SM_SUITES), exts)


def tlcp_hello() -> bytes:
    return _client_hello(0x0101, 0x0101, list(TLCP_SUITES), b"")


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


def _exchange(host: str, port: int, hello: bytes, timeout: float, guard: ScopeGuard) -> bytes:
    with guard.connect(host, port, timeout, via="SM probe") as s:
        s.sendall(hello)
        data = b""
        try:
            while len(data) < 5 or len(data) < 5 + int.from_bytes(data[3:5], "big"):
                chunk = s.recv(16384)
                if not chunk:
                    break
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return data


def _judge(data: bytes, suites: dict[int, str], want_version: int) -> tuple[bool, str | None, str]:
    if not data:
        return False, None, "服务端未应答即关闭连接"
    if len(data) < 5:
        return False, None, f"服务端应答不足一个记录头（{len(data)} 字节）"
    ctype, version = data[0], int.from_bytes(data[1:3], "big")
    if ctype == 0x15 and len(data) >= 7:
        desc = data[6]
        return False, None, f"服务端返回告警 {desc}（{_ALERTS.get(desc, 'alert')}），记录版本 0x{version:04x}"
    if ctype != 0x16 or len(data) < 9 or data[5] != 0x02:
        return False, None, f"服务端应答不是 ServerHello（记录类型 0x{ctype:02x}）"
    body = data[9:]
    hello_version = int.from_bytes(body[0:2], "big")
    random = body[2:34]
    sid_len = body[34]
    cipher = int.from_bytes(body[35 + sid_len : 37 + sid_len], "big")
    rest = body[38 + sid_len :]
    negotiated = hello_version
    if len(rest) >= 2:  # extensions: look for supported_versions (TLS 1.3)
        ext, i = rest[2 : 2 + int.from_bytes(rest[0:2], "big")], 0
        while i + 4 <= len(ext):
            kind, n = struct.unpack("!HH", ext[i : i + 4])
            if kind == 43 and n == 2:
                negotiated = int.from_bytes(ext[i + 4 : i + 6], "big")
            i += 4 + n
    kind = "HelloRetryRequest" if random == _HRR_RANDOM else "ServerHello"
    name = suites.get(cipher)
    if name is None:
        return False, None, f"{kind} 选择了非国密套件 0x{cipher:04x}（版本 0x{negotiated:04x}）"
    if negotiated != want_version:
        return False, name, f"{kind} 选择了 {name}，但协商版本为 0x{negotiated:04x}"
    return True, name, f"{kind} 选择了 {name}（版本 0x{negotiated:04x}）"


def probe(
    host: str, port: int, guard: ScopeGuard, server_name: str | None = None, timeout: float = 5.0
) -> list[SmProbe]:
    """Both probes against one TLS port. Connection failures raise OSError (a lab error)."""
    guard.check(host, port, via="SM probe")
    out = []
    for protocol, hello, suites, version in (
        ("TLS 1.3 (RFC 8998)", tls13_sm_hello(server_name or host), TLS13_SM_SUITES, 0x0304),
        ("TLCP 1.1 (GB/T 38636)", tlcp_hello(), TLCP_SUITES, 0x0101),
    ):
        data = _exchange(host, port, hello, timeout, guard)
        ok, chosen, answer = _judge(data, suites, version)
        out.append(SmProbe(protocol, list(suites.values()), ok, chosen, answer, hello.hex(), data[:2048].hex()))
    return out
