from datetime import date

from harness.intake import check_intake, register, tree_sha256
from harness.spec import load_spec
from tests.conftest import ROOT, SPECS, harness_cli


def test_reference_submission_is_complete_and_consistent():
    assert check_intake(load_spec(SPECS / "refpay.yaml")) == []


def test_registration_is_idempotent_and_keeps_the_sample_24_months():
    loaded = load_spec(SPECS / "refpay.yaml")
    a = register(loaded, received=date(2026, 2, 28))
    b = register(loaded)
    assert a.id == b.id
    assert a.retain_until == date(2028, 2, 28)


def test_tree_hash_ignores_byte_caches(tmp_path):
    (tmp_path / "a.py").write_text("x = 1\n")
    before = tree_sha256(tmp_path)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"junk")
    assert tree_sha256(tmp_path) == before
    (tmp_path / "a.py").write_text("x = 2\n")
    assert tree_sha256(tmp_path) != before


def test_inconsistent_submission_is_refused_with_every_problem(tmp_path):
    (tmp_path / "docs").mkdir()
    spec = tmp_path / "s.yaml"
    spec.write_text(
        f"extends: {SPECS / 'refpay.yaml'}\n"
        "sample: {name: 别的产品, version: '9.9'}\n"
        "media:\n"
        f"  - {{path: {ROOT / 'samples/refpay'}, sha256: '{'a' * 64}'}}\n"
        f"  - {{path: {tmp_path / 'missing.tar'}, sha256: '{'b' * 64}'}}\n"
        f"documentation: {{scope: {tmp_path / 'docs/empty.md'}}}\n",
        encoding="utf-8",
    )
    (tmp_path / "docs/empty.md").write_text("   \n")
    r = harness_cli("intake", str(spec))
    assert r.returncode == 2
    err = r.stderr
    assert "sample.name" in err and "certification unit" in err
    assert "sample.version" in err
    assert "media[0].sha256" in err and "hashes to" in err
    assert "media[1].path" in err and "missing" in err
    assert "documentation.scope" in err
    assert "Traceback" not in err
    # Each finding names the spec line that wrote the field: FILE:LINE: field: what.
    lines = [x.removeprefix("error: ") for x in err.splitlines() if x.startswith("error: ")]
    assert len(lines) == 5
    assert all(x.startswith(f"{spec}:") and x.split(":")[1].isdigit() for x in lines), lines
    assert f"{spec}:2: sample.name:" in err and f"{spec}:6: documentation.scope:" in err


def test_samples_lists_registrations():
    r = harness_cli("intake", str(SPECS / "refpay.yaml"))
    assert r.returncode == 0, r.stderr
    assert "registered S-" in r.stdout
    listing = harness_cli("samples")
    assert "参考支付服务" in listing.stdout and "1.0.0" in listing.stdout


def test_concurrent_registrations_get_distinct_ids(tmp_path):
    """Two benches (or CI jobs) registering at once on a fresh database: no collision, no crash."""
    import os
    import subprocess
    import sys

    media = ROOT / "samples/refpay"
    h = tree_sha256(media)
    specs = []
    for i in range(4):
        p = tmp_path / f"v{i}.yaml"
        p.write_text(
            f"extends: {SPECS / 'refpay.yaml'}\ncertification_unit: {{version: '9.{i}'}}\n"
            f"sample: {{version: '9.{i}'}}\nmedia:\n  - {{path: {media}, sha256: '{h}'}}\n"
        )
        specs.append(p)
    env = {**os.environ, "HARNESS_DATA_DIR": str(tmp_path / "fresh")}
    code = "import sys; from harness.intake import register; from harness.spec import load_spec; "
    code += "print(register(load_spec(sys.argv[1])).id)"
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(p)], env=env, stdout=subprocess.PIPE, text=True)
        for p in specs
    ]
    ids = [p.communicate(timeout=120)[0].strip() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sorted(ids) == [f"S-{date.today().year}-{n:04d}" for n in range(1, 5)]
