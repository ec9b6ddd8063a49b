"""Command line: ``init`` and ``serve``."""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path

from refpay.certs import CertError, make_self_signed
from refpay.config import Config
from refpay.defects import DEFECTS, parse_defects
from refpay.seed import SEED_USERS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m refpay", description="refpay reference payment service")
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="create/reset the database and TLS certificate")
    init.add_argument("--data-dir", required=True, type=Path)
    init.add_argument(
        "--san", action="append", default=[], metavar="NAME", help="another host name or address for the certificate"
    )
    serve = sub.add_parser("serve", help="run the HTTPS server")
    serve.add_argument("--data-dir", required=True, type=Path)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, required=True)
    serve.add_argument("--session-idle-timeout", type=float, default=300.0, metavar="SECONDS")
    serve.add_argument("--lockout-threshold", type=int, default=5, metavar="N")
    serve.add_argument(
        "--login-rate-limit", type=int, default=30, metavar="N", help="failed logins per client per minute"
    )
    serve.add_argument(
        "--defects",
        default="",
        metavar="ID,ID,...",
        help="planted defects: " + ", ".join(DEFECTS),
    )
    return parser


def _fail(message: str, code: int = 1) -> int:
    print(f"refpay: error: {message}", file=sys.stderr)
    return code


def cmd_init(data_dir: Path, names: tuple[str, ...] = ()) -> int:
    from refpay.store import Store

    cfg = Config(data_dir=data_dir)
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        Store(cfg.db_path).reset(SEED_USERS)
        make_self_signed(cfg.cert_path, cfg.key_path, names)
    except (OSError, sqlite3.Error, CertError) as exc:
        return _fail(f"init failed: {exc}")
    print(f"refpay: initialised {data_dir} ({len(SEED_USERS)} users, cert.pem, key.pem)")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        defects = parse_defects(args.defects)
    except ValueError as exc:
        return _fail(str(exc), 2)
    if args.session_idle_timeout <= 0 or args.lockout_threshold < 1:
        return _fail("--session-idle-timeout must be > 0 and --lockout-threshold >= 1", 2)
    if not 0 <= args.port <= 65535:
        return _fail("--port must be 0..65535", 2)
    cfg = Config(
        data_dir=args.data_dir,
        host=args.host,
        port=args.port,
        session_idle_timeout=args.session_idle_timeout,
        lockout_threshold=args.lockout_threshold,
        login_rate_limit=args.login_rate_limit,
        defects=defects,
    )
    missing = [p.name for p in (cfg.db_path, cfg.cert_path, cfg.key_path) if not p.is_file()]
    if missing:
        return _fail(f"{args.data_dir}: missing {', '.join(missing)}; run 'init --data-dir' first")

    from refpay.logs import setup_logging
    from refpay.server import serve

    log = setup_logging(cfg.log_path)
    try:
        return serve(cfg)
    except (OSError, sqlite3.Error) as exc:
        log.error("event=startup_failed error=%s", exc)
        return _fail(f"cannot serve: {exc}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "init":
        return cmd_init(args.data_dir, tuple(args.san))
    return cmd_serve(args)
