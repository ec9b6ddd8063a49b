"""Two costs every run pays: new HTTPS connections through the lab's guarded client (a test
deployment's self-signed certificate, so unverified) and the port scan of a terminal unit.

    python benchmarks/bench_probes.py [--connections 50] [--scan-host 10.213.1.2] [--runs 3]

The HTTPS target is a small server started here on 127.0.0.1 (the only address touched); each
request asks for ``Connection: close``, so every one is a new connection and handshake. The scan
target is a stand-in terminal unit (``python3 lab_env/standin_terminals.py up``), or any address
the lab owns given with ``--scan-host``; every port of it is asked once. Medians of ``--runs``.
"""

from __future__ import annotations

import argparse
import http.server
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT)]

from harness.deploy.guarded_http import LabSession  # noqa: E402
from harness.deploy.scope import ScopeGuard  # noqa: E402
from harness.probes.ports import tcp_connect_scan  # noqa: E402


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *a: object) -> None:
        pass


def https_server() -> int:
    d = Path(tempfile.mkdtemp(prefix="bench-probes-"))
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "k.pem"),
         "-out", str(d / "c.pem"), "-days", "1", "-subj", "/CN=localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(d / "c.pem", d / "k.pem")
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return int(srv.server_address[1])


def connections(n: int) -> float:
    port = https_server()
    guard = ScopeGuard()
    guard.allow("127.0.0.1", [port])
    http = LabSession(guard)
    t0 = time.perf_counter()
    for _ in range(n):
        assert http.get(f"https://127.0.0.1:{port}/", timeout=10).text == "ok"
    return time.perf_counter() - t0


def scan(host: str) -> tuple[float, list[int]]:
    guard = ScopeGuard()
    guard.allow(host, list(range(1, 65536)))
    t0 = time.perf_counter()
    found = tcp_connect_scan(host, range(1, 65536), guard)
    return time.perf_counter() - t0, found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--scan-host", default="10.213.1.2", help="a stand-in unit's address (lab_env/inventory.yaml)")
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    https = [connections(a.connections) for _ in range(a.runs)]
    print(f"{a.connections} new HTTPS connections: median {statistics.median(https):.2f} s ({a.runs} runs)")
    scans = [scan(a.scan_host) for _ in range(a.runs)]
    print(
        f"port scan of {a.scan_host} (65,535 ports): median {statistics.median(t for t, _ in scans):.2f} s, "
        f"open: {scans[0][1]}"
    )


if __name__ == "__main__":
    main()
