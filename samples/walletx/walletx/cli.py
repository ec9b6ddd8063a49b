"""Command line: ``init`` prepares a home directory, ``run`` serves HTTPS from it."""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

from walletx.db import Database
from walletx.seed import HOLDERS
from walletx.settings import Settings


class SetupError(Exception):
    pass


def _args() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python3 -m walletx", description="WalletX 钱包X wallet payment API")
    sub = p.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create (or reset) the home directory: database, master key, TLS pair")
    init.add_argument("--home", required=True, type=Path)
    run = sub.add_parser("run", help="serve the HTTPS API")
    run.add_argument("--home", required=True, type=Path)
    run.add_argument("--bind", default="127.0.0.1")
    run.add_argument("--port", type=int, default=9443)
    run.add_argument("--max-failures", type=int, default=3, metavar="N")
    run.add_argument("--idle-seconds", type=float, default=6.0, metavar="S")
    run.add_argument("--single-limit-fen", type=int, default=2_000_000, metavar="FEN")
    run.add_argument("--daily-limit-fen", type=int, default=5_000_000, metavar="FEN")
    return p


def _say(message: str) -> None:
    print(f"walletx: {message}", file=sys.stderr)


def make_tls_pair(cert: Path, key: Path) -> None:
    """An ECDSA P-256 self-signed certificate, made by the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        raise SetupError("the openssl command is not installed")
    cert.parent.mkdir(parents=True, exist_ok=True)
    tmp_cert, tmp_key = cert.with_name(cert.name + ".tmp"), key.with_name(key.name + ".tmp")
    cmd = [
        openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-sha256", "-nodes", "-days", "90", "-subj", "/CN=localhost/O=WalletX Test",
        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
        "-keyout", str(tmp_key), "-out", str(tmp_cert),
    ]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        tmp_cert.unlink(missing_ok=True)
        tmp_key.unlink(missing_ok=True)
        raise SetupError(f"openssl failed ({done.returncode}): {done.stderr.strip()}")
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)


def cmd_init(home: Path) -> int:
    cfg = Settings(home=home)
    try:
        home.mkdir(parents=True, exist_ok=True)
        cfg.log_path.parent.mkdir(parents=True, exist_ok=True)
        master = secrets.token_bytes(32)
        cfg.master_key_path.write_bytes(master)
        os.chmod(cfg.master_key_path, 0o600)
        Database(cfg.db_path).create(HOLDERS, master)
        make_tls_pair(cfg.cert_path, cfg.key_path)
    except (OSError, sqlite3.Error, SetupError) as exc:
        _say(f"init failed: {exc}")
        return 1
    _say(f"initialised {home}: {len(HOLDERS)} wallets, master.key, tls/server.crt")
    return 0


def _logging(path: Path) -> logging.Logger:
    logger = logging.getLogger("walletx")
    logger.setLevel(logging.INFO)
    logger.handlers.clear()
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    path.parent.mkdir(parents=True, exist_ok=True)
    for h in (logging.FileHandler(path, encoding="utf-8"), logging.StreamHandler(sys.stderr)):
        h.setFormatter(fmt)
        logger.addHandler(h)
    logger.propagate = False
    return logger


def cmd_run(a: argparse.Namespace) -> int:
    if a.max_failures < 1 or a.idle_seconds <= 0 or a.single_limit_fen < 1 or a.daily_limit_fen < 1:
        _say("--max-failures, --idle-seconds and the limits must be positive")
        return 2
    if not 0 <= a.port <= 65535:
        _say("--port must be 0..65535")
        return 2
    cfg = Settings(
        home=a.home,
        bind=a.bind,
        port=a.port,
        max_failures=a.max_failures,
        idle_seconds=a.idle_seconds,
        single_limit_fen=a.single_limit_fen,
        daily_limit_fen=a.daily_limit_fen,
    )
    missing = [p.name for p in (cfg.db_path, cfg.cert_path, cfg.key_path, cfg.master_key_path) if not p.is_file()]
    if missing:
        _say(f"{a.home}: missing {', '.join(missing)}; run 'init --home' first")
        return 1
    from walletx.server import run

    log = _logging(cfg.log_path)
    try:
        return run(cfg, cfg.master_key_path.read_bytes())
    except (OSError, sqlite3.Error) as exc:
        log.error("event=startup_failed error=%s", exc)
        return 1


def main(argv: list[str] | None = None) -> int:
    a = _args().parse_args(argv)
    return cmd_init(a.home) if a.command == "init" else cmd_run(a)
