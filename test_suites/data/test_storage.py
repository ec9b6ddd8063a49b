"""JR/T 0199-2020 chapter 10 数据安全 (with JR/T 0171): no C3 information at rest, and passwords kept as
salted slow hashes. Reads what the sample declared it stores (deployment.data_files): SQLite databases
table by table and column by column, YAML and JSON files key by key, other files line by line. Stored
C2 (card numbers in the database) is not judged here; stored C3 and password storage strength are.
The PostgreSQL and Redis services the sample declared (deployment.services) are read too, row by row
(harness.probes.stores). Logs are 10.logs' business.

A stored password is judged by what can be known: its format and parameters, a salt column beside a
bare digest, or a salt kept elsewhere in the stores (a global salt in a settings file), verified
against the test passwords where a common construction matches, salt reuse across different hashes
(the same hash stored twice is not reuse). Where the work factor cannot be seen, the observation
says so and nothing fails on it; when nothing at all could be settled, the item goes to an engineer
(the code or documentation may show the KDF)."""

from __future__ import annotations

from collections import Counter

import pytest

from harness.checks.data import assess_password_storage, data_file_kind, stored_c3, stored_values
from harness.drivers import DriverError
from harness.probes import stores
from harness.suite_support import usable_accounts
from harness.verdicts import needs_review, not_applicable


def _read_optional(deployment, rel: str) -> bytes | None:
    try:
        return deployment.read_file(rel)
    except Exception:  # noqa: BLE001 - an absent companion file (SQLite -wal) is normal on every backend
        return None


@pytest.mark.clause("10.storage.c3")
def test_no_c3_at_rest_and_passwords_are_salted_slow_hashes(spec, deployment, driver, evidence):
    files = list(spec.deployment.data_files)
    if not files and not spec.deployment.services:
        not_applicable(
            "样品未声明其存储的数据文件（deployment.data_files）或数据服务（deployment.services），"
            "无法检查存储中的 C3 信息与口令存储强度",
            en="the sample declares neither the data files it stores (deployment.data_files) nor its data services "
            "(deployment.services), so C3 information at rest and the strength of password storage cannot be checked",
        )
    # Let the sample see every typed password first: a store that keeps it on login must show it.
    for acct in usable_accounts(driver):
        driver.session(acct)
    values, read, unreadable = [], [], []
    for rel in files:
        try:
            blob = deployment.read_file(rel)
        except OSError as e:
            unreadable.append(f"{rel}（{type(e).__name__}）")
            continue
        found = stored_values(rel, blob, _read_optional(deployment, rel + "-wal"))
        read.append(f"{rel}（{data_file_kind(rel, blob)}，{len(found)} 个文本值）")
        values += found
    for store in stores.read_services(deployment):
        (read if store.ok else unreadable).append(store.summary())
        values += store.values
    if not read:
        raise DriverError(f"声明的数据文件及数据服务均无法读取：{'、'.join(unreadable)}")
    accounts = driver.accounts()
    leaks = stored_c3(values, accounts)
    records = assess_password_storage(values, accounts)
    weak = [r for r in records if not r.assessment.strong]
    evidence.attach_json(
        "存储检查结果（已脱敏）",
        {
            "已读取": read,
            "无法读取": unreadable,
            "C3 明文": [leak.as_dict() for leak in leaks],
            "口令存储": [r.as_dict() for r in records],
        },
    )
    evidence.observe(
        f"读取数据文件：{'；'.join(read)}" + (f"；无法读取：{'、'.join(unreadable)}" if unreadable else ""),
        en=f"data files read: {len(read)}" + (f"; unreadable: {', '.join(unreadable)}" if unreadable else ""),
    )
    open_ = [r for r in records if not r.assessment.determined]
    if records:
        schemes = Counter(r.assessment.scheme for r in records)
        verified = sum(1 for r in records if r.assessment.owner)
        listed = "、".join(f"{k} ×{n}" for k, n in schemes.items())
        evidence.observe(
            f"识别口令存储值 {len(records)} 个：{listed}"
            + (f"（其中 {verified} 个与测试账户口令对应）" if verified else "")
            + (
                f"，{len(weak)} 个不符合：{weak[0].assessment.detail}"
                if weak
                else "，均为加盐慢哈希"
                if not open_
                else f"，未见不符合；{len(open_)} 个无法从存储判定：{open_[0].assessment.detail}"
            ),
            en=f"{len(records)} stored password values ({', '.join(f'{k} x{n}' for k, n in schemes.items())}): "
            + (
                f"{len(weak)} weak"
                if weak
                else "all salted slow hashes"
                if not open_
                else f"none shown weak; {len(open_)} whose algorithm or work factor the store does not show"
            ),
        )
        for note in sorted({r.assessment.note for r in records if r.assessment.note}):
            evidence.observe(f"提示（不影响判定）：{note}", en="advisory: below the recommended work factor")
    else:
        evidence.observe(
            "可读存储中未发现口令存储值，口令存储强度无法在存储侧判定",
            en="no stored password value found in the readable stores",
        )
    evidence.observe(
        "未发现 C3 信息明文存储" if not leaks else f"发现 {len(leaks)} 处 C3 信息存储：{leaks[0].what}",
        en="no C3 information stored in clear" if not leaks else f"{len(leaks)} C3 items stored",
    )
    problems = [f"{leak.where}: {leak.what}" for leak in leaks] + [f"{r.where}: {r.assessment.detail}" for r in weak]
    assert not problems, "; ".join(problems[:10])
    if records and len(open_) == len(records):
        # Nothing failed, but nothing about how the passwords are kept could be settled either.
        needs_review(
            "口令存储值的算法与工作因子无法从存储判定，需工程师结合源代码或文档确认是否为加盐慢哈希",
            en="the algorithm and work factor of the stored password values cannot be told from the store: an "
            "engineer confirms from the source code or documentation whether they are salted slow hashes",
        )
