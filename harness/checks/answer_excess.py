"""Data minimisation of API answers: what an answer carries beyond the use case (credential
material, full card and ID numbers, other accounts' data).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from harness.checks.field_names import code_named, name_words, password_named
from harness.checks.password_hashes import DIGEST_LIKE, date_like, hash_format, password_digests
from harness.checks.pii import (
    FIELD_KIND,
    KIND_ZH,
    evidence_mask,
    find_cards,
    find_id_numbers,
    find_value,
    masked_renderings,
)
from harness.checks.text_leaks import known_values, typed_passwords
from harness.spec.model import Account

# -- data minimisation of API answers --------------------------------------------------------------
# Field names that say a value is credential material (second to the value detectors).
_CREDENTIAL_WORDS = frozenset({"salt", "pin", "cvv", "cvv2", "cvn", "cvn2", "cvc", "otp", "totp", "secret", "pinblock"})
_HASH_WORDS = frozenset({"hash", "hashed", "digest", "pwhash"})


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
    digests = {d: label for label, pw in passwords.items() for d in password_digests(pw)}
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
        if declared_here or not has_value or (sval and date_like(sval)):
            continue
        words = set(name_words(key))
        if password_named(key) or words & _CREDENTIAL_WORDS or code_named(key):
            out.append(Excess(path, "credential", f"字段名表明为口令、验证码或凭据材料（{key}），值已隐去"))
        elif words & _HASH_WORDS and sval and (DIGEST_LIKE.match(sval) or len(sval) >= 32):
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
