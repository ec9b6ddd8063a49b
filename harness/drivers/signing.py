"""Request signing in the forms product documentation gives it: the canonical string (sorted or
ordered ``key=value`` pairs, ordered values, compact JSON, or the documentation's own template), an
HMAC or a plain digest over it, hex, upper-case hex or Base64.

Pure functions over the declared scheme and the request's values: the REST driver signs with them,
the tamper checks sign over other values or fewer fields with them, and ``spec check`` proves them
against the documentation's worked example before anything is deployed.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from gmssl import sm3 as _gm_sm3

from harness.spec.model import Signing


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), sort_keys=True, default=str)
    return str(v)


def covered(signing: Signing, fields: Sequence[str] | None = None) -> list[str]:
    """The names the canonical string is built from, in the declared order: the signed fields, then
    the nonce and the timestamp (each once)."""
    names = [*(signing.fields if fields is None else fields), signing.nonce_field, signing.timestamp_field]
    return [n for n in dict.fromkeys(names) if n]


def canonical_string(
    signing: Signing, values: Mapping[str, Any], key: str = "", fields: Sequence[str] | None = None
) -> str:
    """The string the signature is computed over. ``fields`` (default: the declared ones) lets a
    check build the string a careless product would accept: one that leaves a field out."""
    names = covered(signing, fields)
    sep = signing.separator
    if signing.canonical == "template":
        assert signing.template is not None  # the model guarantees it
        return _from_template(signing, values, key, names)
    if signing.canonical in ("sorted-kv", "ordered-kv"):
        order = sorted(names) if signing.canonical == "sorted-kv" else names
        pairs = [(n, _text(values.get(n))) for n in order]
        if signing.skip_empty:
            pairs = [(n, v) for n, v in pairs if v != ""]
        text = sep.join(f"{n}={v}" for n, v in pairs)
    elif signing.canonical == "ordered-values":
        text = sep.join(_text(values.get(n)) for n in names)
    else:  # json-sorted / json-ordered: a compact JSON object of the covered fields
        obj = {n: _jsonable(values.get(n)) for n in names}
        text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), sort_keys=signing.canonical == "json-sorted")
    if signing.append_key:
        text += signing.append_key.replace("{key}", key)
    return text


def _jsonable(v: Any) -> Any:
    return str(v) if isinstance(v, Decimal) else v


def _from_template(signing: Signing, values: Mapping[str, Any], key: str, names: Sequence[str]) -> str:
    """The documentation's template with each placeholder replaced; a placeholder outside ``names``
    (a field a check leaves out) drops its whole ``separator``-delimited segment."""
    template = signing.template or ""
    omitted = {f for _, f, _, _ in string.Formatter().parse(template) if f} - {*names, "key"}
    segments = template.split(signing.separator) if omitted and signing.separator else [template]
    kept = [s for s in segments if not any("{" + o + "}" in s for o in omitted)]
    fill = {n: _text(values.get(n)) for n in names}
    fill["key"] = key
    out = signing.separator.join(kept) if omitted and signing.separator else template
    return string.Formatter().vformat(out, (), _Missing(fill))


class _Missing(dict[str, str]):
    def __missing__(self, name: str) -> str:
        return ""


def _digest(algorithm: str, key: str, message: str) -> bytes:
    data = message.encode("utf-8")
    if algorithm.startswith("hmac-"):
        name = algorithm.removeprefix("hmac-")
        if name == "sm3":
            return _hmac_sm3(key.encode("utf-8"), data)
        return hmac.new(key.encode("utf-8"), data, name).digest()
    if algorithm == "sm3":
        return bytes.fromhex(_gm_sm3.sm3_hash(list(data)))
    return hashlib.new(algorithm, data).digest()


def _hmac_sm3(key: bytes, data: bytes) -> bytes:
    """HMAC (RFC 2104) over SM3, for OpenSSL builds without SM3 in hashlib."""
    try:
        return hmac.new(key, data, "sm3").digest()
    except ValueError:
        pass
    block = 64
    if len(key) > block:
        key = bytes.fromhex(_gm_sm3.sm3_hash(list(key)))
    key = key.ljust(block, b"\0")
    inner = bytes.fromhex(_gm_sm3.sm3_hash(list(bytes(k ^ 0x36 for k in key) + data)))
    return bytes.fromhex(_gm_sm3.sm3_hash(list(bytes(k ^ 0x5C for k in key) + inner)))


def encode(signing: Signing, mac: bytes) -> str:
    if signing.encoding == "base64":
        return base64.b64encode(mac).decode()
    return mac.hex().upper() if signing.encoding == "hex-upper" else mac.hex()


def sign(signing: Signing, key: str, values: Mapping[str, Any], fields: Sequence[str] | None = None) -> str:
    """The signature the declared scheme gives these values (over ``fields`` instead of the declared
    fields, when given: the nonce and timestamp are always covered)."""
    return encode(signing, _digest(signing.algorithm, key, canonical_string(signing, values, key, fields)))


def example_problem(signing: Signing) -> str | None:
    """None when the driver reproduces the documentation's worked example; otherwise what differs."""
    ex = signing.example
    if ex is None:
        return None
    got = sign(signing, ex.key, ex.values)
    if got == ex.signature:
        return None
    canonical = canonical_string(signing, ex.values, ex.key)
    return (
        f"the declared scheme gives {got!r} for the documented example, which says {ex.signature!r} "
        f"(canonical string: {canonical!r})"
    )
