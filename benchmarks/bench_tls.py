"""Which TLS scanner is faster on the same target: sslyze (the harness's instrument) or a second
kept tool, nmap's ``ssl-enum-ciphers`` script (Debian ``nmap``) or ``testssl.sh`` (Debian
``testssl.sh``), each enumerating protocol versions and cipher suites of one local refpay.

    apt-get install -y nmap            # and/or: apt-get install -y testssl.sh
    python benchmarks/bench_tls.py [--runs 3] [--defects weak-tls]

The target is a refpay started here on 127.0.0.1 with a free port (the only address touched).
Both tools are run the same number of times, alternately; the median wall time is printed, with
what each found, so a speed difference is never bought with a smaller scan.
"""

from __future__ import annotations

import argparse
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "samples" / "refpay"
sys.path[:0] = [str(ROOT)]

from harness.deploy.scope import ScopeGuard  # noqa: E402
from harness.probes import tls  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_refpay(data: Path, defects: str) -> tuple[subprocess.Popen[bytes], int]:
    py = sys.executable
    subprocess.run([py, "-m", "refpay", "init", "--data-dir", str(data)], cwd=SAMPLE, check=True, capture_output=True)
    port = free_port()
    cmd = [py, "-m", "refpay", "serve", "--data-dir", str(data), "--host", "127.0.0.1", "--port", str(port)]
    if defects:
        cmd += ["--defects", defects]
    proc = subprocess.Popen(cmd, cwd=SAMPLE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.terminate()
    raise SystemExit("refpay did not start")


def run_sslyze(port: int) -> str:
    guard = ScopeGuard()
    guard.allow("127.0.0.1")
    r = tls.scan("127.0.0.1", port, guard)
    n = sum(len(v) for v in r.accepted.values())
    return f"{', '.join(r.offered_protocols())}; {n} suites"


def run_nmap(port: int) -> str:
    out = subprocess.run(
        ["nmap", "-Pn", "-n", "-p", str(port), "--script", "ssl-enum-ciphers", "127.0.0.1"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    protos = re.findall(r"\|\s+(TLSv1\.\d|SSLv3):", out)
    suites = re.findall(r"\|\s+(TLS_\w+)", out)
    return f"{', '.join(protos)}; {len(suites)} suites"


def run_testssl(port: int) -> str:
    exe = shutil.which("testssl") or shutil.which("testssl.sh")
    assert exe
    out = subprocess.run(
        [exe, "--quiet", "--color", "0", "-p", "-e", f"127.0.0.1:{port}"], capture_output=True, text=True
    ).stdout
    offered = re.findall(r"^\s*(SSLv\d|TLS 1(?:\.\d)?)\s+offered", out, re.MULTILINE)
    return f"{', '.join(offered)}; {len(re.findall(r'^ x[0-9a-f]+ ', out, re.MULTILINE))} suites"


def timed(fn: Callable[[int], str], port: int) -> tuple[float, str]:
    t = time.perf_counter()
    found = fn(port)
    return time.perf_counter() - t, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--defects", default="", help="refpay defects to plant, e.g. weak-tls")
    args = ap.parse_args()
    tools: dict[str, Callable[[int], str]] = {"sslyze": run_sslyze}
    if shutil.which("nmap"):
        tools["nmap ssl-enum-ciphers"] = run_nmap
    if shutil.which("testssl") or shutil.which("testssl.sh"):
        tools["testssl.sh"] = run_testssl
    if len(tools) == 1:
        print("no second tool: apt-get install -y nmap (or testssl.sh); timing sslyze alone")
    with tempfile.TemporaryDirectory() as tmp:
        proc, port = start_refpay(Path(tmp) / "data", args.defects)
        try:
            times: dict[str, list[float]] = {t: [] for t in tools}
            found: dict[str, str] = {}
            for _ in range(args.runs):
                for name, fn in tools.items():
                    took, found[name] = timed(fn, port)
                    times[name].append(took)
        finally:
            proc.terminate()
            proc.wait(10)
    print(f"target: refpay on 127.0.0.1:{port} defects={args.defects or 'none'}, {args.runs} runs each")
    for name in tools:
        ts = times[name]
        print(
            f"{name:24s} median {statistics.median(ts):7.2f} s  (min {min(ts):.2f}, max {max(ts):.2f})  {found[name]}"
        )
    fastest = min(tools, key=lambda n: statistics.median(times[n]))
    print(f"faster: {fastest}")


if __name__ == "__main__":
    main()
