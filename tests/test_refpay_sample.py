"""End-to-end tests of the refpay reference sample (real HTTPS server subprocess)."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

requests = pytest.importorskip("requests")
urllib3 = pytest.importorskip("urllib3")
# The sample uses a self-signed certificate on 127.0.0.1.
pytestmark = pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")

SAMPLE_DIR = Path(__file__).resolve().parents[1] / "samples" / "refpay"
sys.path.insert(0, str(SAMPLE_DIR))

# Imported dynamically: the sample is not an installed package.
seed = importlib.import_module("refpay.seed")
validators = importlib.import_module("refpay.validators")


class Server:
    def __init__(self, base: str, proc: subprocess.Popen[bytes], data_dir: Path) -> None:
        self.base, self.proc, self.data_dir = base, proc, data_dir

    def post(self, path: str, json: dict[str, object], token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(self.base + path, json=json, headers=headers, verify=False, timeout=5)

    def get(self, path: str, token: str | None = None) -> requests.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.get(self.base + path, headers=headers, verify=False, timeout=5)

    def login(self, username: str, password: str) -> dict[str, str]:
        resp = self.post("/api/login", {"username": username, "password": password})
        assert resp.status_code == 200, resp.text
        return resp.json()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "refpay", *args],
        cwd=SAMPLE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _start(data_dir: Path, defects: str = "") -> Iterator[Server]:
    init = _run("init", "--data-dir", str(data_dir))
    assert init.returncode == 0, init.stderr
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "refpay",
        "serve",
        "--data-dir",
        str(data_dir),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if defects:
        cmd += ["--defects", defects]
    proc = subprocess.Popen(
        cmd,
        cwd=SAMPLE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    server = Server(f"https://127.0.0.1:{port}", proc, data_dir)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert proc.poll() is None, "server exited during startup"
            try:
                if server.get("/health").status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "server did not become healthy"
            time.sleep(0.1)
        yield server
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def compliant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("refpay-compliant"))


@pytest.fixture(scope="module")
def defective(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _start(tmp_path_factory.mktemp("refpay-defective"), "replay,unmasked-card")


def signed_transfer(session: dict[str, str], to_account: str, amount: str) -> dict[str, object]:
    body: dict[str, object] = {
        "from_account": session["account_id"],
        "to_account": to_account,
        "amount": amount,
        "nonce": secrets.token_hex(16),
        "timestamp": int(time.time() * 1000),
    }
    canonical = "&".join(f"{k}={body[k]}" for k in sorted(body))
    body["signature"] = hmac.new(session["sign_key"].encode(), canonical.encode(), hashlib.sha256).hexdigest()
    return body


def test_seed_data_is_valid() -> None:
    for user in seed.SEED_USERS:
        assert len(user.card_number) == 19 and validators.luhn_valid(user.card_number), user.username
        assert validators.id_number_valid(user.id_number), user.username


def test_health_and_headers(compliant: Server) -> None:
    resp = compliant.get("/health")
    assert resp.json() == {"status": "ok", "version": "1.0.0"}
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert "Python" not in resp.headers.get("Server", "")


def test_login_and_failures(compliant: Server) -> None:
    session = compliant.login("alice", "Alice#2024pay")
    assert session["account_id"] == "6001" and session["token"].count(".") == 2
    wrong = compliant.post("/api/login", {"username": "alice", "password": "nope"})
    unknown = compliant.post("/api/login", {"username": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json() == {"error": "用户名或密码错误"}


def test_account_view_is_masked(compliant: Server) -> None:
    session = compliant.login("alice", "Alice#2024pay")
    data = compliant.get("/api/accounts/6001", session["token"]).json()
    assert data["card_number"] == "622202*********0128"
    assert data["id_number"] == "110105********002X"
    assert data["phone"] == "138****5678"
    assert compliant.get("/api/accounts/6002", session["token"]).status_code == 403
    log = (compliant.data_dir / "refpay.log").read_text(encoding="utf-8")
    assert "6222021234567890128" not in log and "Alice#2024pay" not in log


def test_signed_transfer_and_replay_rejected(compliant: Server) -> None:
    session = compliant.login("bob", "Bob#2024pay")
    body = signed_transfer(session, "6003", "10.00")
    first = compliant.post("/api/transfers", body, session["token"])
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "completed" and first.json()["balance"] == "4990.00"
    replay = compliant.post("/api/transfers", body, session["token"])
    assert replay.status_code == 409 and replay.json() == {"error": "重复请求"}
    history = compliant.get("/api/accounts/6002/transactions", session["token"]).json()
    assert history["transactions"][0]["transfer_id"] == first.json()["transfer_id"]


def test_defects_replay_and_unmasked_card(defective: Server) -> None:
    session = defective.login("alice", "Alice#2024pay")
    data = defective.get("/api/accounts/6001", session["token"]).json()
    assert data["card_number"] == "6222021234567890128"
    body = signed_transfer(session, "6002", "10.00")
    assert defective.post("/api/transfers", body, session["token"]).status_code == 200
    replay = defective.post("/api/transfers", body, session["token"])
    assert replay.status_code == 200 and replay.json()["balance"] == "9980.00"


def test_defects_yaml_matches_code() -> None:
    defects = importlib.import_module("refpay.defects")
    text = (SAMPLE_DIR / "defects.yaml").read_text(encoding="utf-8")
    assert re.findall(r"^- id: (\S+)$", text, re.MULTILINE) == list(defects.DEFECTS)


def test_unknown_defect_rejected(tmp_path: Path) -> None:
    result = _run("serve", "--data-dir", str(tmp_path), "--port", "1", "--defects", "bogus")
    assert result.returncode == 2 and "bogus" in result.stderr
