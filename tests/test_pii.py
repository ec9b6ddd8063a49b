"""The chapter-10 detectors and analysers (harness.checks.pii, harness.checks.data) and the source-review
baseline keys (harness.probes.source): known-valid and known-invalid examples, properties, and the
synthetic answers a planted 'overexposure' defect would give."""

from __future__ import annotations

import base64
import hashlib
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.checks.data import (
    StoredValue,
    assess_password_storage,
    assess_password_value,
    data_file_kind,
    excess_in_answer,
    known_values,
    scan_text,
    stored_c3,
    stored_values,
    typed_passwords,
)
from harness.checks.pii import (
    find_c2,
    find_cards,
    find_id_numbers,
    find_mobiles,
    id_check_digit,
    id_number_valid,
    luhn_valid,
    masked_properly,
    masked_renderings,
    masking_rules,
    plausible_card,
    redact,
)
from harness.probes.tls import ProbeError
from harness.spec.model import Account

ALICE = Account(
    name="alice",
    username="alice",
    password="Alice#2024pay",
    account_id="6001",
    card_number="6222021234567890128",
    id_number="11010519491231002X",
    phone="13812345678",
)
BOB = Account(
    name="bob",
    username="bob",
    password="Bob#2024pay",
    account_id="6002",
    card_number="6228480402564890018",
    id_number="440524188001010014",
    phone="13987654321",
)
MASKING = masking_rules({"card_number": (6, 4), "id_number": (6, 4), "phone": (3, 4)})
TODAY = date(2026, 11, 27)


def luhn_complete(body: str) -> str:
    for d in "0123456789":
        if luhn_valid(body + d):
            return body + d
    raise AssertionError("unreachable")


# -- validators ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "number",
    ["6222021234567890128", "6228480402564890018", "6217001234567890122", "4111111111111111", "378282246310005"],
)
def test_known_card_numbers_are_luhn_valid_and_plausible(number):
    assert luhn_valid(number) and plausible_card(number)


@pytest.mark.parametrize(
    "number",
    [
        "6222021234567890129",  # check digit off by one
        "4111111111111112",
        "1764201234567",  # a millisecond timestamp (Luhn-valid or not, prefix 1 is no card)
        "0000000000000000",  # Luhn-valid, but no card
        "622202123456",  # 12 digits
        "62220212345678901280",  # 20 digits
    ],
)
def test_invalid_or_implausible_card_numbers(number):
    assert not plausible_card(number)


def test_timestamp_that_passes_luhn_is_still_not_a_card():
    ts = luhn_complete("176420123456")
    assert luhn_valid(ts) and not plausible_card(ts) and not find_cards(f"ts={ts}")


@pytest.mark.parametrize(
    "value", ["11010519491231002X", "440524188001010014", "31010419900307123X", "11010519491231002x"]
)
def test_known_id_numbers_are_valid(value):
    assert id_number_valid(value, TODAY)


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check character
        "110105194902310025",  # 31 February
        "000105194912310029",  # no such region
        "110105203001010011",  # born in the future
        "11010519491231002",  # 17 characters
        "1101051949123100XX",
    ],
)
def test_invalid_id_numbers(value):
    assert not id_number_valid(value, TODAY)


@given(st.integers(min_value=11, max_value=65), st.dates(date(1900, 1, 1), TODAY), st.integers(0, 999))
def test_any_id_number_with_its_check_character_is_found(region, born, seq):
    body = f"{region}0101{born:%Y%m%d}{seq:03d}"
    value = body + id_check_digit(body)
    valid = id_number_valid(value, TODAY)
    found = find_id_numbers(f"证件号：{value}。", TODAY)
    assert bool(found) == valid
    if valid:
        wrong = body + ("0" if value[-1] != "0" else "1")
        assert not find_id_numbers(f"id={wrong}", TODAY)


@given(st.sampled_from("23456"), st.text("0123456789", min_size=14, max_size=14))
def test_any_luhn_valid_16_digit_card_is_found_and_masked_never(first, middle):
    card = luhn_complete(first + middle)
    if len(set(card)) < 2:
        return
    assert [f.normal for f in find_cards(f"card={card} ")] == [card]
    masked = card[:6] + "*" * 6 + card[-4:]
    assert not find_c2(f"card={masked}")
    spaced = " ".join(card[i : i + 4] for i in range(0, 16, 4))
    assert [f.normal for f in find_cards(spaced)] == [card]


# -- detectors in text ---------------------------------------------------------------------------
def test_detectors_respect_boundaries_and_masks():
    text = (
        "ok 6222021234567890128; id=11010519491231002X tel 13812345678 +86 139 8765 4321\n"
        "masked 622202*********0128 110105********002X 138****5678 "
        "hex a6222021234567890128b ts=1764201234567 tx=T8a7f254d538b4835a616332bfa35d12a "
        "order=213812345678 2026-11-27T11:39:56.215571+08:00"
    )
    found = {(f.kind, f.normal) for f in find_c2(text, TODAY)}
    assert found == {
        ("card", "6222021234567890128"),
        ("id_number", "11010519491231002X"),
        ("phone", "13812345678"),
        ("phone", "13987654321"),
    }


def test_no_false_positive_on_masked_values():
    for masked in ("622202*********0128", "622202••••••••••0128", "6222 02** **** 0128", "110105********002X"):
        assert not find_c2(masked), masked
    assert not find_mobiles("138****5678")


def test_masked_properly_and_renderings():
    assert masked_properly("622202*********0128", ALICE.card_number, (6, 4))
    assert not masked_properly(ALICE.card_number, ALICE.card_number, (6, 4))
    assert not masked_properly("6222021234*****0128", ALICE.card_number, (6, 4))
    [good] = masked_renderings("card=622202*********0128", ALICE.card_number)
    assert not good.exceeds((6, 4))
    [bad] = masked_renderings("card=6222021234****0128", ALICE.card_number)
    assert bad.exceeds((6, 4)) and bad.visible_prefix == 10
    assert not masked_renderings("card=622848*********0018", ALICE.card_number)  # bob's card


def test_redact_leaves_no_c2_or_password():
    text = f"user=alice password={ALICE.password} card={ALICE.card_number} id={ALICE.id_number} tel={ALICE.phone}"
    out = redact(text, [ALICE.password])
    assert ALICE.password not in out and ALICE.card_number not in out and ALICE.id_number not in out
    assert ALICE.phone not in out and "622202*********0128" in out and not find_c2(out)


def test_scan_text_finds_a_leaking_log_and_passes_a_compliant_one():
    pw = typed_passwords([ALICE, BOB], {"错误口令": "yap4202#ecilA#9x"})
    kv = known_values([ALICE, BOB])
    leaking = (
        f"INFO event=login_success user=alice account=6001 card={ALICE.card_number} password={ALICE.password}\n"
        "INFO event=login_failed reason=bad_password user=alice password=yap4202#ecilA#9x\n"
        f"INFO event=account_view user=bob card=6228480402****0018\n"
    )
    leaks = scan_text(leaking, "日志", pw, kv, MASKING)
    whats = {x.what for x in leaks}
    assert "alice 的口令明文出现" in whats and "错误口令明文出现" in whats
    assert "alice 的银行卡号完整出现" in whats
    assert any(x.what.startswith("bob 的银行卡号屏蔽不足") for x in leaks)
    for x in leaks:  # evidence excerpts are safe
        assert ALICE.password not in x.excerpt and ALICE.card_number not in x.excerpt
        assert "yap4202#ecilA#9x" not in x.excerpt
    compliant = (
        "2026-11-27 03:40:34,790 INFO event=login_success user=alice account=6001 card=622202*********0128\n"
        "INFO event=transfer_completed id=T8a7f254d538b4835a616332bfa35d12a from=6001 to=6002 amount=0.01\n"
        'INFO http client=127.0.0.1 "GET /api/accounts/6001 HTTP/1.1" 200 - ts=1764201234567\n'
    )
    assert scan_text(compliant, "日志", pw, kv, MASKING) == []


def test_stricter_declared_masking_flags_what_a_looser_one_allows():
    line = "card=6222021234****0128"
    assert not scan_text(line, "页面", {}, known_values([ALICE]), masking_rules({"card_number": (10, 4)}))
    assert scan_text(line, "页面", {}, known_values([ALICE]), MASKING)


# -- password storage ----------------------------------------------------------------------------
PW = {"alice 的口令": ALICE.password}


@pytest.mark.parametrize("alg", ["md5", "sha1", "sha256", "sha512"])
def test_unsalted_fast_digest_of_the_known_password_fails(alg):
    d = hashlib.new(alg, ALICE.password.encode()).digest()
    for v in (d.hex(), d.hex().upper(), base64.b64encode(d).decode()):
        a = assess_password_value(v, PW)
        assert not a.strong and a.scheme == alg and a.owner == "alice 的口令"


def test_plaintext_and_encoded_passwords_fail():
    assert assess_password_value(ALICE.password, PW).scheme == "plaintext"
    assert assess_password_value(ALICE.password.encode().hex(), PW).scheme == "encoded"


def _pbkdf2(pw: str, iterations: int, salt: bytes = b"0123456789abcdef") -> str:
    return (
        f"pbkdf2_sha256${iterations}${salt.hex()}${hashlib.pbkdf2_hmac('sha256', pw.encode(), salt, iterations).hex()}"
    )


def test_pbkdf2_is_verified_against_the_test_password_and_graded_by_cost():
    a = assess_password_value(_pbkdf2(ALICE.password, 210_000), PW, "alice 的口令")
    assert a.strong and a.owner == "alice 的口令" and "600000" in a.note
    assert not assess_password_value(_pbkdf2(ALICE.password, 1000), PW).strong
    assert assess_password_value("pbkdf2:sha256:600000$abcdefgh12345678$" + "ab" * 32, PW).strong


@pytest.mark.parametrize(
    ("value", "strong", "determined"),
    [
        ("$2b$12$" + "a" * 53, True, True),
        ("{bcrypt}$2a$12$" + "a" * 53, True, True),  # Spring's DelegatingPasswordEncoder prefix
        ("$2b$04$" + "a" * 53, False, True),
        ("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$" + "A" * 43, True, True),
        ("$argon2id$v=19$m=4096,t=1,p=1$c29tZXNhbHQ$" + "A" * 43, False, True),
        ("scrypt:32768:8:1$abcdefgh$" + "ab" * 32, True, True),
        ("scrypt:1024:8:1$abcdefgh$" + "ab" * 32, False, True),
        ("$1$saltsalt$abcdefghijklmnopqrstuv", False, True),
        # A digest that is not the unsalted digest of the test password: salt and cost are not visible.
        ("ab" * 32, True, False),
        # A format nobody recognises: not shown to be weak, not shown to be a slow hash either.
        ("ENC(SM4:8f2a...)", True, False),
    ],
)
def test_hash_formats(value, strong, determined):
    a = assess_password_value(value, PW)
    assert (a.strong, a.determined) == (strong, determined)


def test_spring_noop_prefix_is_still_plaintext():
    assert assess_password_value("{noop}" + ALICE.password, PW).scheme == "plaintext"


def _db(tmp: Path, rows: list[tuple[str, str]], wal: bool = False) -> tuple[bytes, bytes | None, sqlite3.Connection]:
    path = tmp / "store.db"
    conn = sqlite3.connect(path, isolation_level=None)
    if wal:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("CREATE TABLE users (username TEXT, password_hash TEXT, card_number TEXT, failed_logins INT)")
    for u, h in rows:
        conn.execute("INSERT INTO users VALUES (?, ?, ?, 0)", (u, h, ALICE.card_number))
    walfile = tmp / "store.db-wal"
    return path.read_bytes(), walfile.read_bytes() if walfile.exists() else None, conn


def test_sqlite_store_with_md5_passwords_fails_and_pbkdf2_passes(tmp_path):
    blob, wal, conn = _db(tmp_path, [("alice", hashlib.md5(ALICE.password.encode()).hexdigest())])
    conn.close()
    recs = assess_password_storage(stored_values("data/store.db", blob, wal), [ALICE])
    assert [(r.assessment.scheme, r.assessment.strong) for r in recs] == [("md5", False)]
    assert recs[0].where == "data/store.db:users.password_hash[1]"
    (tmp_path / "store.db").unlink()
    blob, wal, conn = _db(tmp_path, [("alice", _pbkdf2(ALICE.password, 210_000))])
    conn.close()
    recs = assess_password_storage(stored_values("data/store.db", blob, wal), [ALICE])
    assert [(r.assessment.strong, r.assessment.owner) for r in recs] == [(True, "alice 的口令")]


def test_uncheckpointed_wal_is_read_and_plaintext_password_found(tmp_path):
    blob, wal, conn = _db(tmp_path, [("alice", ALICE.password)], wal=True)
    try:
        assert wal, "the rows are still in the write-ahead log"
        values = stored_values("db", blob, wal)
        leaks = stored_c3(values, [ALICE])
        assert [x.what for x in leaks] == ["alice 的口令明文存储"]
        assert ALICE.password not in json.dumps([x.as_dict() for x in leaks], ensure_ascii=False)
    finally:
        conn.close()


def test_shared_salt_is_weak():
    salt = b"samesaltsamesalt"
    values = [
        StoredValue("users.password_hash[1]", "password_hash", _pbkdf2(ALICE.password, 50_000, salt)),
        StoredValue("users.password_hash[2]", "password_hash", _pbkdf2(BOB.password, 50_000, salt)),
    ]
    recs = assess_password_storage(values, [ALICE, BOB])
    assert len(recs) == 2 and not any(r.assessment.strong for r in recs)
    assert all("相同的盐" in r.assessment.detail for r in recs)


def test_the_same_hash_stored_twice_is_not_salt_reuse():
    """A copy of one hash (a users row and its history row, a table and its backup) shares its salt
    with itself only: that is not two passwords under one salt."""
    one = _pbkdf2(ALICE.password, 210_000, b"alicesaltalicesa")
    values = [
        StoredValue("users.password_hash[1]", "password_hash", one, {"username": "alice"}),
        StoredValue("password_history.hash[1]", "hash", one, {"username": "alice"}),
        StoredValue("users.password_hash[2]", "password_hash", _pbkdf2(BOB.password, 210_000, b"bobsaltbobsaltbo")),
    ]
    recs = assess_password_storage(values, [ALICE, BOB])
    assert len(recs) == 3 and all(r.assessment.strong for r in recs)
    assert not any("相同的盐" in r.assessment.detail for r in recs)


def _row(column: str, value: str, **cells: object) -> StoredValue:
    return StoredValue(f"users.{column}[1]", column, value, {"username": "alice", column: value, **cells})


def test_a_digest_beside_its_salt_column_is_salted_and_its_construction_is_verified():
    salt = "9f3c1a7e5b2d4c6a"
    # A salted single SHA-256 (verified with the test password): salted, but a fast hash.
    fast = hashlib.sha256((salt + ALICE.password).encode()).hexdigest()
    a = assess_password_storage([_row("password_hash", fast, salt=salt)], [ALICE])[0].assessment
    assert (a.strong, a.determined, a.scheme, a.owner) == (False, True, "salted-digest", "alice 的口令")
    assert "单次" in a.detail and "SHA256(盐+口令)" in a.detail
    # PBKDF2 with a framework's default count, stored as bare hex beside its salt: a slow hash.
    slow = hashlib.pbkdf2_hmac("sha256", ALICE.password.encode(), bytes.fromhex(salt), 100_000).hex()
    a = assess_password_storage([_row("password_hash", slow, salt=salt)], [ALICE])[0].assessment
    assert (a.strong, a.determined, a.scheme) == (True, True, "pbkdf2") and "100000" in a.detail
    # No construction matches: salted, the work factor cannot be seen: said so, not failed.
    unknown = hashlib.sha256(b"pepper" + salt.encode() + ALICE.password.encode()).hexdigest()
    rec = assess_password_storage([_row("password_hash", unknown, pwd_salt=salt)], [ALICE])[0]
    assert (rec.assessment.strong, rec.assessment.determined) == (True, False)
    assert "已加盐" in rec.assessment.detail and rec.as_dict()["判定"].startswith("无法判定")


def test_a_bare_digest_is_failed_only_when_it_is_the_unsalted_digest_of_the_password():
    md5 = hashlib.md5(ALICE.password.encode()).hexdigest()
    assert assess_password_storage([_row("password_hash", md5)], [ALICE])[0].assessment.strong is False
    other = hashlib.sha256(b"salt-kept-elsewhere" + ALICE.password.encode()).hexdigest()
    a = assess_password_storage([_row("password_hash", other)], [ALICE])[0].assessment
    assert (a.strong, a.determined) == (True, False) and "不是alice 的口令的无盐摘要" in a.detail


def _users_yaml(alice: str, bob: str, admin: str, alice_settings: str = "{}") -> bytes:
    """A users file as OctoPrint writes it (users.yaml: records keyed by user name)."""
    return (
        "admin:\n  active: true\n  apikey: null\n  groups:\n  - admins\n  - users\n"
        f"  password: {admin}\n  permissions: []\n  roles:\n  - user\n  - admin\n  settings: {{}}\n"
        "alice:\n  active: true\n  apikey: 8E4F0C1D2B3A49F6A7C8D9E0F1A2B3C4\n  groups:\n  - users\n"
        f"  password: {alice}\n  permissions: []\n  roles:\n  - user\n  settings: {alice_settings}\n"
        f"bob:\n  active: true\n  apikey: null\n  groups:\n  - users\n  password: {bob}\n  settings: {{}}\n"
    ).encode()


def test_yaml_users_file_is_read_as_records_and_a_global_salt_digest_fails():
    """A password under a ``password`` key of a YAML users file is a stored password: OctoPrint 1.8's
    SHA-512(password + the one salt in config.yaml), verified with the test passwords, is a fast hash
    shared salt; a value only a line of text would hide."""
    salt = "q8VZt3LkP0wXyR2mN5bC7dF9gH1jK4sA"
    config = f"server:\n  firstRun: false\naccessControl:\n  salt: {salt}\napi:\n  key: wV4PiyFwaZZ_9utfj\n"

    def sha(pw: str) -> str:
        return hashlib.sha512((pw + salt).encode()).hexdigest()

    users = stored_values("base/users.yaml", _users_yaml(sha(ALICE.password), sha(BOB.password), sha("random-admin")))
    password = next(v for v in users if v.where == "base/users.yaml:alice.password")
    assert (password.column, password.value, password.row["(key)"]) == ("password", sha(ALICE.password), "alice")
    assert {v.where for v in users if v.column == "roles"} == {
        "base/users.yaml:admin.roles[0]",
        "base/users.yaml:admin.roles[1]",
        "base/users.yaml:alice.roles[0]",
    }
    values = users + stored_values("base/config.yaml", config.encode())
    assert data_file_kind("base/users.yaml", b"admin:\n  password: x\n") == "YAML 文件"
    recs = {r.where: r.assessment for r in assess_password_storage(values, [ALICE, BOB])}
    assert set(recs) == {f"base/users.yaml:{u}.password" for u in ("admin", "alice", "bob")}
    alice = recs["base/users.yaml:alice.password"]
    assert (alice.strong, alice.determined, alice.scheme, alice.owner) == (False, True, "salted-digest", "alice 的口令")
    assert "SHA512(口令+盐)" in alice.detail and "base/config.yaml:accessControl.salt" in alice.detail
    assert "与另外 1 个不同的口令哈希使用相同的盐" in alice.detail  # bob's, under the same salt
    # The administrator's password is not a test password: nothing verifies it, nothing is failed on it.
    assert (recs["base/users.yaml:admin.password"].strong, recs["base/users.yaml:admin.password"].determined) == (
        True,
        False,
    )
    assert stored_c3(values, [ALICE, BOB]) == []
    # Without the settings file the salt is not in the stores: the digests cannot be settled.
    assert all(not r.assessment.determined for r in assess_password_storage(users, [ALICE, BOB]))


def test_yaml_and_json_users_files_with_slow_hashes_pass():
    def argon(salt: str) -> str:
        return f"$argon2id$v=19$m=65536,t=3,p=4${salt}$" + "A" * 43

    settings = "{role: admin, is_admin: true}"  # what a mass-assignment probe may leave in a settings document
    yaml_file = _users_yaml(
        argon("YWxpY2VzYWx0YWxpY2Vz"), argon("Ym9ic2FsdGJvYnNhbHRi"), argon("YWRtaW5zYWx0YWRtaW5z"), settings
    )
    users = stored_values("base/users.yaml", yaml_file)
    recs = assess_password_storage(users, [ALICE, BOB])
    assert len(recs) == 3 and all(r.assessment.strong and r.assessment.determined for r in recs)
    doc = {
        "users": [
            {"username": "alice", "passwordHash": _pbkdf2(ALICE.password, 600_000), "pwdSalt": "ignored", "pin": 1234},
            {"username": "bob", "password": "$2b$12$" + "b" * 53, "lastLogin": "2026-12-01T10:00:00Z"},
        ]
    }
    values = stored_values("data/users.json", json.dumps(doc).encode())
    assert data_file_kind("data/users.json", json.dumps(doc).encode()) == "JSON 文件"
    recs = assess_password_storage(values, [ALICE, BOB])
    assert [(r.where, r.assessment.strong, r.assessment.owner) for r in recs] == [
        ("data/users.json:users[0].passwordHash", True, "alice 的口令"),
        ("data/users.json:users[1].password", True, None),
    ]
    # An unquoted YAML/JSON number under a PIN key is still stored C3.
    assert [x.what for x in stored_c3(values, [ALICE])] == ["存储了卡片验证码/PIN/磁道类字段 pin"]


def test_a_bare_digest_under_a_password_key_of_a_json_lines_store_fails():
    line = json.dumps(
        {"_id": "u1", "username": "alice", "password": hashlib.sha256(ALICE.password.encode()).hexdigest()}
    )
    values = stored_values("data/users.db", f"{line}\nnot json\n".encode())
    assert [v.where for v in values] == [
        "data/users.db:1:_id",
        "data/users.db:1:username",
        "data/users.db:1:password",
        "data/users.db:2",
    ]
    [rec] = assess_password_storage(values, [ALICE])
    assert (rec.assessment.scheme, rec.assessment.strong, rec.assessment.owner) == ("sha256", False, "alice 的口令")


def test_text_that_is_not_a_record_store_is_read_line_by_line():
    assert [v.where for v in stored_values("notes.yaml", b"just a line\n\nanother\n")] == [
        "notes.yaml:1",
        "notes.yaml:3",
    ]
    assert [v.where for v in stored_values("broken.yaml", b"a: [1, 2\nb: 3\n")] == ["broken.yaml:1", "broken.yaml:2"]
    assert data_file_kind("notes.txt", b"password: x\n") == "文本文件"  # key: value text not named .yaml stays text


def test_text_store_and_card_verification_column(tmp_path):
    values = stored_values("cache.txt", f"session for alice pw={ALICE.password}\n".encode())
    assert [x.what for x in stored_c3(values, [ALICE])] == ["alice 的口令明文存储"]
    path = tmp_path / "c.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE cards (pan TEXT, cvv2 TEXT)")
    conn.execute("INSERT INTO cards VALUES ('6222021234567890128', '123')")
    conn.commit()
    conn.close()
    assert [x.what for x in stored_c3(stored_values("c.db", path.read_bytes()), [ALICE])] == [
        "存储了卡片验证码/PIN/磁道类字段 cvv2"
    ]


# -- data minimisation ---------------------------------------------------------------------------
COMPLIANT_ACCOUNT = {
    "account_id": "6001",
    "owner": "alice",
    "card_number": "622202*********0128",
    "id_number": "110105********002X",
    "phone": "138****5678",
    "balance": "10000.00",
}
HISTORY = {
    "transactions": [
        {
            "transfer_id": "T8a7f254d538b4835a616332bfa35d12a",
            "from_account": "6001",
            "to_account": "6002",
            "amount": "0.01",
            "created_at": "2026-11-27T11:39:56.215571+08:00",
        }
    ]
}


def test_compliant_answers_carry_nothing_extra():
    declared = ["balance", "card_number", "id_number", "phone", "owner"]
    assert excess_in_answer(COMPLIANT_ACCOUNT, ALICE, [ALICE, BOB], declared) == []
    assert excess_in_answer(HISTORY, ALICE, [ALICE, BOB], ["transactions"]) == []
    login = {"token": "eyJ...", "sign_key": "c586976edbc047c7fb5bfb9e7cc0d9ae", "account_id": "6001", "expires_in": 300}
    assert excess_in_answer(login, ALICE, [ALICE, BOB], ["token", "sign_key"]) == []


def test_simulated_overexposure_defect_is_caught_by_the_hash_not_the_flags():
    """refpay's 'overexposure' defect: the account answer adds the stored password hash, the
    failed-login counter and the lock state. Only the hash reveals something (a credential)."""
    answer = {
        **COMPLIANT_ACCOUNT,
        "password_hash": _pbkdf2(ALICE.password, 210_000),
        "failed_logins": 0,
        "locked": 0,
    }
    found = {(x.path, x.kind) for x in excess_in_answer(answer, ALICE, [ALICE, BOB], ["balance", "card_number"])}
    assert found == {("password_hash", "credential")}


def test_value_detectors_work_whatever_the_field_is_called():
    answer = {**COMPLIANT_ACCOUNT, "x1": "$2b$12$" + "a" * 53, "x2": hashlib.md5(ALICE.password.encode()).hexdigest()}
    kinds = {x.path: x.kind for x in excess_in_answer(answer, ALICE, [ALICE, BOB])}
    assert kinds == {"x1": "credential", "x2": "credential"}
    # Declaring a hash as read by the use case does not make it needed.
    assert excess_in_answer(answer, ALICE, [ALICE, BOB], ["x1", "x2"])


def test_other_users_records_in_a_list_answer():
    answer = {"users": [COMPLIANT_ACCOUNT, {"account_id": "6002", "card_number": "622848*********0018"}]}
    found = excess_in_answer(answer, ALICE, [ALICE, BOB])
    assert [x.kind for x in found] == ["other_user"] and "bob" in found[0].detail
    full = excess_in_answer({"peer_phone": BOB.phone}, ALICE, [ALICE, BOB])
    assert [x.kind for x in full] == ["other_user"] and BOB.phone not in full[0].detail


def test_plain_flags_and_business_ids_are_not_over_exposure():
    """A hardened product's answers: flags and internal IDs reveal no person, credential or account."""
    answer = {
        "locked": False,
        "is_admin": True,
        "deleted": False,
        "debug": False,
        "failed_attempts": 2,
        "user_id": "6001",
        "_id": 17,
        "internal_ref": "A-17",
    }
    assert excess_in_answer(answer, ALICE, [ALICE, BOB]) == []


def test_name_heuristics_yield_to_declared_fields():
    answer = {"receipt_hash": "ab" * 32, "pwd_salt": "9f3c1a7e5b2d4c6a"}
    assert {x.path for x in excess_in_answer(answer, ALICE, [ALICE, BOB])} == {"receipt_hash", "pwd_salt"}
    assert excess_in_answer(answer, ALICE, [ALICE, BOB], ["receipt_hash", "pwd_salt"]) == []


def test_secrets_in_post_answers_by_value_then_by_name():
    """What a registration, reset or payment answer must never carry."""
    # A reset answer that hands out the code: by name (the value itself is no known secret).
    found = excess_in_answer({"status": "sent", "resetToken": "k3J9x0"}, ALICE, [ALICE, BOB])
    assert [(x.path, x.kind) for x in found] == [("resetToken", "credential")] and "k3J9x0" not in found[0].detail
    assert excess_in_answer({"sms_code": "482913"}, ALICE, [ALICE, BOB])
    assert excess_in_answer({"otp": "482913"}, ALICE, [ALICE, BOB])
    # A bare "code" or a session "token" is not a reset code.
    assert excess_in_answer({"code": "0", "token": "eyJhbGciOi..."}, ALICE, [ALICE, BOB]) == []
    # A registration echoing the typed password, wherever it sits.
    assert [x.kind for x in excess_in_answer({"msg": f"welcome, {ALICE.password}"}, ALICE, [ALICE])] == ["credential"]
    # Another account's session credential in my answer.
    found = excess_in_answer(
        {"peer": "tok-9f3c1a7e5b2d"}, ALICE, [ALICE, BOB], (), {"bob 的会话凭证": "tok-9f3c1a7e5b2d"}
    )
    assert [x.kind for x in found] == ["credential"] and "bob 的会话凭证" in found[0].detail
    # A PIN by name.
    assert [x.path for x in excess_in_answer({"payPin": "123456"}, ALICE, [ALICE])] == ["payPin"]


def test_full_card_and_id_numbers_in_answers():
    # Someone's full card number (Luhn-valid, no test account's): a person revealed.
    found = excess_in_answer({"payee_card": "6217001234567890122"}, ALICE, [ALICE, BOB])
    assert [x.kind for x in found] == ["personal"] and "6217001234567890122" not in found[0].detail
    # The account's own full card at a path the use case reads: display masking judges that.
    assert excess_in_answer({"card_number": ALICE.card_number}, ALICE, [ALICE], ["card_number"]) == []
    # ... at a path it does not read: more than the use case needs.
    assert [x.kind for x in excess_in_answer({"receipt": {"pan": ALICE.card_number}}, ALICE, [ALICE])] == ["personal"]
    # Another test account's ID number: reported once, as theirs.
    found = excess_in_answer({"id": BOB.id_number}, ALICE, [ALICE, BOB])
    assert [x.kind for x in found] == ["other_user"] and "bob" in found[0].detail


# -- source review keys --------------------------------------------------------------------------
def test_bandit_keys_survive_line_shifts_and_new_copies_are_new(tmp_path):
    from harness.probes.source import findings, load_baseline, run_bandit

    src = tmp_path / "app"
    src.mkdir()
    (src / "h.py").write_text("import hashlib\n\n\ndef h(p):\n    return hashlib.md5(p).hexdigest()\n")
    first = findings(run_bandit(src, tmp_path / "a.json"), src)
    (src / "h.py").write_text(
        "import hashlib\n# a comment\n\n\n\ndef h(p):\n    return hashlib.md5(p).hexdigest()\n\n"
        "def g(p):\n    return hashlib.md5(p).hexdigest()\n"
    )
    second = findings(run_bandit(src, tmp_path / "b.json"), src)
    [k1] = [f.key for f in first if f.test_id == "B324"]
    keys = [f.key for f in second if f.test_id == "B324"]
    assert keys[0] == k1 and keys[1] == k1[:-1] + "2" and first[0].blocking
    base = tmp_path / "baseline.json"
    base.write_text(json.dumps({"accepted": [{"key": k1, "justification": "test"}]}))
    assert set(load_baseline(base)) == {k1}
    base.write_text(json.dumps({"accepted": [{"key": k1, "justification": " "}]}))
    with pytest.raises(ProbeError):
        load_baseline(base)


@settings(max_examples=50)
@given(st.text(min_size=1, max_size=60))
def test_redacted_text_never_holds_c2(text):
    assert not find_c2(redact(text))
