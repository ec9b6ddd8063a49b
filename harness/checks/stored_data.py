"""What the sample stores: the values of its data files (SQLite databases column by column, YAML and
JSON documents key by key, other text line by line), how passwords are kept there, and C3 stored at
all.
"""

from __future__ import annotations

import base64
import datetime
import json
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from harness.checks.field_names import c3_named, name_words, password_named
from harness.checks.password_hashes import (
    HashAssessment,
    assess_password_value,
    date_like,
    hash_format,
    password_digests,
)
from harness.checks.text_leaks import Leak, evidence_excerpt, typed_passwords
from harness.probes.stores import StoredValue
from harness.spec.model import Account

# -- what the sample stores ----------------------------------------------------------------------
SQLITE_MAGIC = b"SQLite format 3\x00"


RECORD_KEY = "(key)"  # the row cell holding the key a record sits under (users.yaml: the user name)


def stored_values(name: str, blob: bytes, wal: bytes | None = None) -> list[StoredValue]:
    """Every text value a data file holds, with its field name where the file has them: each text
    (or UTF-8 blob) cell of each table of a SQLite database (opened as a temporary copy, with its
    write-ahead log when given); each scalar of a YAML or JSON document, its key as the column and
    the scalars beside it as the row; else each line (a line holding a JSON object: its fields)."""
    if blob.startswith(SQLITE_MAGIC):
        return list(_sqlite_values(name, blob, wal))
    text = blob.decode("utf-8", errors="replace")
    docs = _documents(name, text)
    if docs is not None:
        many = len(docs) > 1
        return [sv for i, doc in enumerate(docs, 1) for sv in record_values(f"{name}:{i}" if many else name, doc)]
    out: list[StoredValue] = []
    for i, line in enumerate(text.splitlines(), 1):
        record = _json_object(line)
        if record is not None:
            out += record_values(f"{name}:{i}", record)
        elif line.strip():
            out.append(StoredValue(f"{name}:{i}", None, line))
    return out


def data_file_kind(name: str, blob: bytes) -> str:
    """How ``stored_values`` reads the file, for the observation (Chinese)."""
    if blob.startswith(SQLITE_MAGIC):
        return "SQLite 数据库"
    text = blob.decode("utf-8", errors="replace")
    if _documents(name, text) is None:
        return "文本文件"
    return "JSON 文件" if _json_document(text) is not None else "YAML 文件"


def _documents(name: str, text: str) -> list[Any] | None:
    """The documents of a JSON file (any name) or a YAML file (named .yaml/.yml) that hold records
    (a mapping or a list), else None: read as lines. Plain text parses as YAML too, hence the name."""
    doc = _json_document(text)
    if doc is not None:
        return [doc]
    if Path(name).suffix.lower() not in (".yaml", ".yml"):
        return None
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return None  # a custom tag or a broken file: its lines are still read
    return docs if any(isinstance(d, dict | list) for d in docs) else None


def _json_document(text: str) -> dict[str, Any] | list[Any] | None:
    if text.lstrip()[:1] not in ("{", "["):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict | list) else None


def _json_object(line: str) -> dict[str, Any] | None:
    """A JSON Lines record (NeDB, an append-only store), or None."""
    doc = _json_document(line) if line.lstrip().startswith("{") else None
    return doc if isinstance(doc, dict) else None


def record_values(where: str, doc: Any) -> Iterator[StoredValue]:
    """Each scalar of a parsed document as a stored value: ``where`` plus its path, its key as the
    column, and as the row the scalars of the same mapping and the key that mapping sits under (a
    users file keyed by user name shows whose password a value is)."""
    yield from _walk_record(where, "", doc, None, {})


def _walk_record(where: str, path: str, node: Any, key: str | None, row: Mapping[str, Any]) -> Iterator[StoredValue]:
    if isinstance(node, dict):
        mine: dict[str, Any] = {str(k): v for k, v in node.items() if not isinstance(v, dict | list)}
        if key is not None and not path.endswith("]"):  # keyed by name, not an item of a list
            mine.setdefault(RECORD_KEY, key)
        for k, v in node.items():
            yield from _walk_record(where, f"{path}.{k}" if path else str(k), v, str(k), mine)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk_record(where, f"{path}[{i}]", v, key, row)  # a list's scalars keep its key
    elif (text := _cell(node)) is not None:
        yield StoredValue(f"{where}:{path}" if path else where, key, text, row)


def _cell(v: Any) -> str | None:
    """A scalar as stored text; booleans and nulls hold nothing to judge. YAML reads an unquoted
    ``pin: 1234`` as a number and a bare date as a date: both are still stored values."""
    if isinstance(v, str):
        return v or None
    if isinstance(v, int | float | datetime.date) and not isinstance(v, bool):
        return str(v)
    return None


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
    by name: a password-named column or key) and classify each. A bare digest with no salt beside it
    is verified against the salts kept elsewhere in the stores (a global salt in a settings file). A
    salt shared by different hashes is weak; the same hash stored twice (a copy, a history row)
    shares its salt with itself, which is not."""
    accounts = list(accounts)
    values = list(values)
    passwords = typed_passwords(accounts)
    digests = {d for pw in passwords.values() for d in password_digests(pw)}
    salts = _store_salts(values)
    out: list[tuple[PasswordRecord, str]] = []
    for sv in values:
        v = sv.value.strip()
        by_value = hash_format(v) is not None or v in digests or v.lower() in digests
        by_name = (
            password_named(sv.column)
            and "salt" not in name_words(sv.column or "")  # pwdSalt is the salt, judged with its hash
            and len(v) >= 4
            and not date_like(v)
            and v not in ("0", "1")
        )
        if not (by_value or by_name):
            continue
        hint = _row_owner(sv.row, accounts)
        a = assess_password_value(v, passwords, hint, _row_salt(sv), salts)
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


MAX_STORE_SALTS = 8  # distinct salts tried per bare digest (each try may run PBKDF2 at common counts)


def _store_salts(values: list[StoredValue]) -> list[tuple[str, str]]:
    """(where, value) of the salt-named values in the stores: a product may keep one salt for every
    password in its settings (OctoPrint 1.8: ``accessControl.salt`` in config.yaml)."""
    out: dict[str, str] = {}
    for sv in values:
        v = sv.value.strip()
        if sv.column and "salt" in name_words(sv.column) and len(v) >= 4 and v not in out:
            out[v] = sv.where
        if len(out) >= MAX_STORE_SALTS:
            break
    return [(where, v) for v, where in out.items()]


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
                excerpt = evidence_excerpt(sv.value, i, i + len(form), secrets, ())
                leaks.append(Leak(sv.where, "C3", f"{label}明文存储", excerpt))
        if sv.column and c3_named(sv.column) and sv.value.strip() not in ("", "0"):
            leaks.append(Leak(sv.where, "C3", f"存储了卡片验证码/PIN/磁道类字段 {sv.column}", "［已隐去］"))
    return leaks
