"""Change analysis for the reference sample: a signing-only edit, a framework change, an undeclared file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from harness.media import tree_sha256
from harness.retest.diff import analyse, load_description, load_version
from tests.conftest import ROOT, SPECS, harness_cli

SIGNING_ITEMS = {"5.txn.replay", "5.txn.tamper", "5.txn.idempotency", "5.txn.concurrency", "5.txn.amount"}


def changed_copy(tmp_path: Path, edit) -> Path:
    media = tmp_path / "refpay"
    shutil.copytree(ROOT / "samples/refpay", media, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    edit(media)
    return media


def changed_spec(tmp_path: Path, media: Path, extra: str = "", version: str = "1.0.1") -> Path:
    p = tmp_path / "changed.yaml"
    p.write_text(
        f"extends: {SPECS / 'refpay.yaml'}\n"
        f"certification_unit: {{version: '{version}'}}\n"
        f"sample: {{version: '{version}'}}\n"
        f"media:\n  - {{path: {media}, sha256: '{tree_sha256(media)}', role: source}}\n" + extra,
        encoding="utf-8",
    )
    return p


def signing_edit(media: Path) -> None:
    for rel, old, new in (
        ("refpay/signing.py", '"&".join', '"|".join'),
        ("refpay/pages.py", ".join('&')", ".join('|')"),
    ):
        f = media / rel
        text = f.read_text()
        assert old in text
        f.write_text(text.replace(old, new))


def description(tmp_path: Path, body: str) -> Path:
    p = tmp_path / "changes.yaml"
    p.write_text(f"product: 参考支付服务\nfrom_version: 1.0.0\nto_version: 1.0.1\nchanges:\n{body}", encoding="utf-8")
    return p


@pytest.fixture
def signing_change(tmp_path):
    media = changed_copy(tmp_path, signing_edit)
    spec = changed_spec(tmp_path, media, "driver:\n  signing: {separator: '|'}\n")
    desc = description(
        tmp_path,
        "  - kind: signing\n    description: 转账签名规范化串分隔符由 & 改为 |\n"
        "    files: [refpay/signing.py, refpay/pages.py]\n",
    )
    return spec, desc


def test_signing_only_change_touches_the_transaction_clauses_and_nothing_else(signing_change):
    spec, desc = signing_change
    a = analyse(load_version(str(SPECS / "refpay.yaml")), load_version(str(spec)), load_description(desc))
    assert not a.full_retest
    assert not a.undeclared
    kinds = {c.kind for c in a.changes}
    assert kinds == {"version", "signing"}
    impacted = set(a.impacted)
    assert impacted >= SIGNING_ITEMS
    assert not {i for i in impacted if i.startswith(("10.", "11.", "9.", "6.", "7.", "8.", "12.", "A."))}
    assert "UC-04" in impacted  # the transfer use case runs again too


def test_framework_change_forces_a_full_retest(tmp_path):
    media = changed_copy(tmp_path, lambda m: (m / "requirements.txt").write_text("Flask==3.0.3\n"))
    spec = changed_spec(tmp_path, media)
    desc = description(tmp_path, "  - kind: framework\n    description: 引入 Flask\n    files: [requirements.txt]\n")
    a = analyse(load_version(str(SPECS / "refpay.yaml")), load_version(str(spec)), load_description(desc))
    assert a.full_retest
    assert any(c.kind == "framework" and c.subject == "flask" and c.major for c in a.changes)


def test_a_changed_file_the_description_did_not_mention_is_flagged(tmp_path, signing_change):
    spec, desc = signing_change
    media = Path(str(spec.read_text()).split("path: ")[1].split(",")[0])
    (media / "refpay" / "store.py").write_text((media / "refpay" / "store.py").read_text() + "\n# quietly changed\n")
    spec = changed_spec(tmp_path, media, "driver:\n  signing: {separator: '|'}\n")
    a = analyse(load_version(str(SPECS / "refpay.yaml")), load_version(str(spec)), load_description(desc))
    assert [c.subject for c in a.undeclared] == ["refpay/store.py"]
    assert a.full_retest  # the lab cannot judge an undeclared change's reach from the holder's word


def test_diff_command_prints_changes_clauses_and_verdict(signing_change):
    spec, desc = signing_change
    r = harness_cli("diff", str(SPECS / "refpay.yaml"), str(spec), "--description", str(desc))
    assert r.returncode == 0, r.stderr
    assert "- signing: refpay/signing.py" in r.stdout
    assert "touches: 5.txn.amount" in r.stdout
    assert "result: retest" in r.stdout and "full retest" not in r.stdout


def test_undeclared_kind_in_description_is_bad_input(tmp_path, signing_change):
    spec, _ = signing_change
    desc = description(tmp_path, "  - kind: magic\n    description: x\n")
    r = harness_cli("diff", str(SPECS / "refpay.yaml"), str(spec), "--description", str(desc))
    assert r.returncode == 2 and "unknown change kinds ['magic']" in r.stderr
