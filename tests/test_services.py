"""Services a product declares (PostgreSQL, Redis) start privately with the deployment, reach the
product through templates, are read by the storage check like any data file, and go with it.

The product here is a few lines of HTTP that keep their users in PostgreSQL and their sessions in
Redis, in three builds: the password in a table in plaintext, the password in a Redis session,
and neither (a PBKDF2 hash and a bare session): the storage check (test_suites/data/test_storage.py,
called as it is) must fail the first two on what it read from the services and pass the third.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.deploy import GUARD, DeployError, Target, deployer_for
from harness.deploy.process import ProcessDeployer, ProcessDeployment
from harness.drivers import build_driver
from harness.evidence import EvidenceRecorder
from harness.probes import stores
from harness.spec import LoadedSpec, SampleSpec
from tests.conftest import ROOT

if not list(Path("/usr/lib/postgresql").glob("*/bin/postgres")) or not Path("/usr/bin/redis-server").exists():
    if os.environ.get("CI"):
        raise RuntimeError("CI is set but PostgreSQL or redis-server is missing: run lab_env/setup.sh")
    pytest.skip("needs Debian's postgresql and redis-server (lab_env/setup.sh)", allow_module_level=True)

PASSWORD = "Alice#2024pay"

PRODUCT = textwrap.dedent(
    """
    import hashlib, http.server, json, os, secrets, sys
    import psycopg, redis
    mode = os.environ["STORE_MODE"]
    db = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    cache = redis.Redis.from_url(os.environ["REDIS_URL"])
    db.execute("CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, username text UNIQUE, password text)")
    def stored(pw):
        if mode == "plain-table":
            return pw
        salt = secrets.token_hex(16)
        return f"pbkdf2_sha256$100000${salt}$" + hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), 100000).hex()
    def matches(pw, value):
        if mode == "plain-table":
            return pw == value
        _alg, n, salt, digest = value.split("$")
        return hashlib.pbkdf2_hmac("sha256", pw.encode(), salt.encode(), int(n)).hex() == digest
    db.execute("INSERT INTO users (username, password) VALUES (%s, %s) ON CONFLICT DO NOTHING",
               (os.environ["SEED_USER"], stored(os.environ["SEED_PASSWORD"])))

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200 if self.path == "/health" else 404)
            self.end_headers()
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            row = db.execute("SELECT password FROM users WHERE username = %s", (body["username"],)).fetchone()
            if row is None or not matches(body["password"], row[0]):
                self.send_response(401); self.end_headers(); return
            token = secrets.token_urlsafe(16)
            session = {"user": body["username"]}
            if mode == "plain-session":
                session["password"] = body["password"]
            cache.hset(f"session:{token}", mapping=session)
            out = json.dumps({"token": token}).encode()
            self.send_response(200); self.send_header("Content-Type", "application/json"); self.end_headers()
            self.wfile.write(out)
        def log_message(self, *a):
            pass

    print("shop up", flush=True)
    http.server.ThreadingHTTPServer((sys.argv[1], int(sys.argv[2])), H).serve_forever()
    """
)


def make_spec(tmp: Path, mode: str, **deployment: Any) -> LoadedSpec:
    media = tmp / "shop"
    media.mkdir(exist_ok=True)
    (media / "shop.py").write_text(PRODUCT)
    dep: dict[str, Any] = {
        "backend": "process",
        "services": [{"name": "db", "kind": "postgresql", "database": "shop"}, {"name": "cache", "kind": "redis"}],
        "env": {
            "DATABASE_URL": "{services.db.url}",
            "REDIS_URL": "{services.cache.url}",
            "STORE_MODE": mode,
            "SEED_USER": "alice",
            "SEED_PASSWORD": PASSWORD,
        },
        # The install transcript may show the connection values; the product's own log must not be confused with it.
        "install": [{"run": "echo 'db at {services.db.host}:{services.db.port} as {services.db.user}'"}],
        "start": {"run": f"exec {sys.executable} shop/shop.py {{bind}} {{ports.web}}"},
        "ports": [{"name": "web", "port": 8080}],
        "health": {"url": "http://{host}:{ports.web}/health", "timeout_s": 30},
    }
    dep.update(deployment)
    raw = {
        "applicant": {"name": "A", "contact": {"name": "A"}},
        "producer": {"name": "P", "contact": {"name": "P"}},
        "certification_unit": {"product_name": "shop", "model": "S1", "version": "1"},
        "sample": {"name": "shop", "version": "1"},
        "media": [{"path": "shop", "sha256": hashlib.sha256(PRODUCT.encode()).hexdigest()}],
        "deployment": dep,
        "documentation": {
            "environment_requirements": "e.md",
            "scope": "s.md",
            "install_guide": "i.md",
            "operating_instructions": "o.md",
            "use_cases_document": "u.md",
            "use_cases": [{"id": "UC1", "title": "t", "section": "1"}],
        },
        "driver": {
            "kind": "rest",
            "base_url": "http://{host}:{ports.web}",
            "auth": {"kind": "bearer", "header": "Authorization", "prefix": "Bearer "},
            "login": {
                "method": "POST",
                "path": "/api/login",
                "body": {"username": "{username}", "password": "{password}"},
                "token_from": "token",
            },
            "accounts": [{"name": "alice", "username": "alice", "password": PASSWORD}],
        },
    }
    return LoadedSpec(spec=SampleSpec.model_validate(raw), path=tmp / "spec.yaml")


TARGET = Target(model="process", backend="process")


def _storage_check() -> Any:
    """The storage check exactly as the suite holds it."""
    path = ROOT / "test_suites/data/test_storage.py"
    mod_spec = importlib.util.spec_from_file_location("suite_test_storage", path)
    assert mod_spec is not None and mod_spec.loader is not None
    mod = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(mod)
    return mod.test_no_c3_at_rest_and_passwords_are_salted_slow_hashes


@pytest.fixture
def deployed(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[LoadedSpec, ProcessDeployment]]:
    deployer = deployer_for("process")
    loaded = make_spec(tmp_path, request.param)
    dep = deployer.deploy(loaded, TARGET, tmp_path / "w")
    assert isinstance(dep, ProcessDeployment)
    GUARD.allow_deployment(dep)
    try:
        yield loaded, dep
    finally:
        GUARD.revoke(dep.host)
        deployer.teardown(dep)


def _run_check(loaded: LoadedSpec, dep: ProcessDeployment, tmp_path: Path) -> EvidenceRecorder:
    evidence = EvidenceRecorder(run_dir=tmp_path / "run", check_id="10.storage.c3", model="process")
    driver = build_driver(loaded.spec, dep, GUARD)
    _storage_check()(loaded.spec, dep, driver, evidence)
    return evidence


@pytest.mark.parametrize("deployed", ["plain-table"], indirect=True)
def test_plaintext_password_in_a_postgresql_table_fails_the_storage_check(deployed, tmp_path: Path) -> None:
    loaded, dep = deployed
    db = dep.services["db"]
    assert db.version.startswith("PostgreSQL") and db.database == "shop" and db.user == "sample"
    with pytest.raises(AssertionError, match="口令明文存储") as ei:
        _run_check(loaded, dep, tmp_path)
    assert "db:users.password[1]" in str(ei.value)


@pytest.mark.parametrize("deployed", ["plain-session"], indirect=True)
def test_plaintext_password_in_a_redis_session_fails_the_storage_check(deployed, tmp_path: Path) -> None:
    loaded, dep = deployed
    with pytest.raises(AssertionError, match=r"cache:session:[\w-]+\.password"):
        _run_check(loaded, dep, tmp_path)


@pytest.mark.parametrize("deployed", ["hardened"], indirect=True)
def test_hashed_passwords_and_bare_sessions_pass_having_read_both_services(deployed, tmp_path: Path) -> None:
    loaded, dep = deployed
    evidence = _run_check(loaded, dep, tmp_path)
    seen = "；".join(evidence.observations)
    assert "服务 db（PostgreSQL 数据库，1 张表，1 行" in seen and "服务 cache（Redis，1 个键" in seen, seen
    assert "pbkdf2_sha256 ×1" in seen, "the hash was read from the table and judged"


@pytest.mark.parametrize("deployed", ["hardened"], indirect=True)
def test_services_are_private_templated_and_gone_after_teardown(deployed, tmp_path: Path) -> None:
    _, dep = deployed
    db, cache = dep.services["db"], dep.services["cache"]
    # The sample got the values through its templates; the transcript shows the install step's view.
    assert f"db at 127.0.0.1:{db.port} as sample" in dep.install_transcript()
    assert "db at" not in dep.logs() and "shop up" in dep.logs()
    # The sample's role owns its database and is no superuser; the lab's role is.
    import psycopg

    with psycopg.connect(db.url) as conn:
        row = conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        assert row == (False,)
    # The password is generated per deployment, never a fixed value.
    assert len(db.password) >= 20 and db.password != cache.password
    info = dep.info["services"]
    assert [s["name"] for s in info] == ["db", "cache"] and all("password" not in s for s in info)
    assert all(db.password not in str(v) for v in dep.info.values())
    reads = {r.service: r for r in stores.read_services(dep)}
    assert reads["db"].ok and reads["cache"].ok
    procs = [s.proc for s in dep.services.values()]
    deployer_for("process").teardown(dep)
    assert all(p is not None and p.poll() is not None for p in procs)
    assert all(s.home is not None and not s.home.exists() for s in dep.services.values())


def test_a_service_that_cannot_start_is_a_deploy_error_and_leaves_nothing(tmp_path: Path) -> None:
    deployer = deployer_for("process")
    assert isinstance(deployer, ProcessDeployer)
    # A role name PostgreSQL reserves: the service starts, then making the role fails.
    loaded = make_spec(tmp_path, "hardened", services=[{"name": "db", "kind": "postgresql", "user": "pg_x"}])
    with pytest.raises(DeployError, match="pg_x") as ei:
        deployer.deploy(loaded, TARGET, tmp_path / "w")
    assert "reserved" in str(ei.value)
    assert not (tmp_path / "w/services/db").exists() and (tmp_path / "w/services/db.log").exists()
    assert not (tmp_path / "w/output.log").exists(), "the sample was never started"


def test_the_spec_refuses_unknown_kinds_repeated_names_and_unsafe_identifiers(tmp_path: Path) -> None:
    from pydantic import ValidationError

    for services, problem in (
        ([{"name": "db", "kind": "mysql"}], "postgresql"),
        ([{"name": "db", "kind": "redis"}, {"name": "db", "kind": "postgresql"}], "repeated: db"),
        ([{"name": "db", "kind": "postgresql", "user": 'x"; DROP'}], "pattern"),
    ):
        with pytest.raises(ValidationError, match=problem):
            make_spec(tmp_path, "hardened", services=services)
