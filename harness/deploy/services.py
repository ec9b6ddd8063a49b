"""Services a product needs (PostgreSQL, Redis), started privately for one deployment and torn
down with it.

Each service gets a generated password and, for PostgreSQL, a database owned by a role of its own
(not a superuser). The sample reads the connection values through templates
(``{services.db.url}``, ``.host``, ``.port``, ``.user``, ``.password``, ``.name``); the lab reads
the service itself (storage checks, ``harness.probes.stores``) as its superuser ``lab``, through a
Unix socket when the service runs on this host.

Local services (process backend) run as the distribution's service user when the harness is root
(PostgreSQL refuses to run as root), each in a process group of its own, from Debian's binaries
(``lab_env/setup.sh`` installs them). Their files live in the deployment's workdir under
``services/<name>``, or, where the service user cannot reach that directory or a socket path would
be too long, in a private temporary directory that the ledger records and teardown removes.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from harness.deploy import leftovers
from harness.deploy.base import DeployError
from harness.deploy.local import free_port, kill_group
from harness.deploy.netns import Namespace
from harness.spec.model import Service

LAB_USER = "lab"  # the lab's superuser in every PostgreSQL it starts
READY_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
DEFAULT_PORT = {"postgresql": 5432, "redis": 6379}
SYSTEM_USER = {"postgresql": "postgres", "redis": "redis"}
_SOCKET_MAX = 100  # sun_path holds 108 bytes; the socket's own name takes the rest


@dataclass
class ServiceInstance:
    """One running service: how the sample reaches it, and how the lab does."""

    name: str
    kind: str
    host: str  # as the sample reaches it
    port: int
    user: str
    password: str
    database: str  # PostgreSQL: the database; Redis: the database number
    lab_host: str  # as the lab reaches it: a socket directory (local) or an address
    lab_password: str
    home: Path | None = None  # the service's own files (data, socket, configuration)
    temporary: bool = False  # home is outside the workdir: removed at teardown
    log: Path | None = None
    proc: subprocess.Popen[bytes] | None = None
    container_id: str = ""
    version: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        if self.kind == "postgresql":
            auth = f"{quote(self.user)}:{quote(self.password, safe='')}"
            return f"postgresql://{auth}@{self.host}:{self.port}/{self.database}"
        return f"redis://:{quote(self.password, safe='')}@{self.host}:{self.port}/{self.database}"

    def template_values(self) -> SimpleNamespace:
        return SimpleNamespace(
            url=self.url, host=self.host, port=self.port, user=self.user, password=self.password, name=self.database
        )

    def lab_connection(self) -> dict[str, Any]:
        """Keyword arguments for the lab's own client (psycopg / redis-py) as the service's superuser."""
        if self.kind == "postgresql":
            return {
                "host": self.lab_host,
                "port": self.port if self.lab_host.startswith("/") else DEFAULT_PORT["postgresql"],
                "user": LAB_USER,
                "password": self.lab_password,
                "dbname": self.database,
            }
        if self.lab_host.startswith("/"):
            return {"unix_socket_path": str(Path(self.lab_host) / "redis.sock"), "password": self.lab_password}
        return {"host": self.lab_host, "port": DEFAULT_PORT["redis"], "password": self.lab_password}

    def describe(self) -> dict[str, Any]:
        """For the report's deployment section: what ran, where, never a password."""
        out: dict[str, Any] = {"name": self.name, "kind": self.kind, "version": self.version}
        out["address"] = f"{self.host}:{self.port}"
        if self.kind == "postgresql":
            out.update(database=self.database, user=self.user)
        if self.container_id:
            out["container_id"] = self.container_id
        return out

    def ledger(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "pgid": self.proc.pid if self.proc is not None else None,
            # With the pgid, so cleanup never kills a group whose id was given to someone else.
            "start": leftovers.process_start(self.proc.pid) if self.proc is not None else "",
            "home": str(self.home) if self.temporary and self.home else None,
        }


def template_namespace(services: dict[str, ServiceInstance]) -> SimpleNamespace:
    return SimpleNamespace(**{n: s.template_values() for n, s in services.items()})


def password() -> str:
    # URL-safe, so it goes into a connection URL, a shell line or a config file as it is.
    return secrets.token_urlsafe(18)


# -- local services -------------------------------------------------------------------------------
def _service_ids(kind: str) -> tuple[int, int]:
    """Who runs the service: the harness's own user, or the distribution's service user when the
    harness is root (PostgreSQL refuses root; Redis gets no more rights than it needs)."""
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    try:
        pw = pwd.getpwnam(SYSTEM_USER[kind])
    except KeyError:
        raise DeployError(
            f"the {kind} service runs as user {SYSTEM_USER[kind]}, which does not exist: "
            "install Debian's package (lab_env/setup.sh)"
        ) from None
    return pw.pw_uid, pw.pw_gid


def _searchable(path: Path, uid: int, gid: int) -> bool:
    """Whether uid/gid can traverse every existing directory down to path."""
    if uid == 0 or uid == os.geteuid():
        return True
    for d in [path, *path.parents]:
        try:
            st = d.stat()
        except FileNotFoundError:
            continue
        bit = stat.S_IXUSR if st.st_uid == uid else stat.S_IXGRP if st.st_gid == gid else stat.S_IXOTH
        if not st.st_mode & bit:
            return False
    return True


def _home(workdir: Path, name: str, uid: int, gid: int) -> tuple[Path, bool]:
    preferred = workdir / "services" / name
    if _searchable(preferred.parent, uid, gid) and len(str(preferred)) + 20 < _SOCKET_MAX:
        shutil.rmtree(preferred, ignore_errors=True)
        preferred.mkdir(parents=True)
        home, temporary = preferred, False
    else:
        home, temporary = Path(tempfile.mkdtemp(prefix=f"harness-svc-{name}-")), True
    os.chown(home, uid, gid)
    home.chmod(0o700)
    return home, temporary


def _pg_bin() -> Path:
    """The newest PostgreSQL server binaries Debian installed."""

    def version(p: Path) -> tuple[int, ...]:
        return tuple(int(x) for x in re.findall(r"\d+", p.parent.parent.name))

    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=version)
    if not found:
        raise DeployError(
            "a declared postgresql service needs the PostgreSQL server (Debian's postgresql package): "
            "run lab_env/setup.sh"
        )
    return found[-1].parent


def _redis_bin() -> str:
    exe = shutil.which("redis-server") or ("/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else "")
    if not exe:
        raise DeployError(
            "a declared redis service needs redis-server (Debian's redis-server package): run lab_env/setup.sh"
        )
    return exe


def _spawn(argv: list[str], log: Path, uid: int, gid: int, ns: Namespace | None, cwd: Path) -> subprocess.Popen[bytes]:
    """Start a service in a process group of its own, as uid/gid, in the namespace if given."""
    switch = uid != os.geteuid()
    if ns is not None:
        argv = [*ns.run_prefix(uid if switch else None, gid if switch else None), *argv]
        user_kw: dict[str, Any] = {}
    else:
        user_kw = {"user": uid, "group": gid, "extra_groups": []} if switch else {}
    with log.open("ab") as out:
        return subprocess.Popen(
            argv,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            **user_kw,
        )


def _run_as(argv: list[str], uid: int, gid: int, log: Path, cwd: Path, timeout_s: float = 120) -> None:
    switch = uid != os.geteuid()
    user_kw: dict[str, Any] = {"user": uid, "group": gid, "extra_groups": []} if switch else {}
    with log.open("ab") as out:
        out.write(f"$ {' '.join(argv)}\n".encode())
        out.flush()
        try:
            rc = subprocess.run(
                argv, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                timeout=timeout_s, **user_kw,
            ).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            raise DeployError(f"{argv[0]} timed out after {timeout_s:g} s", log.read_text(errors="replace")) from None
    if rc != 0:
        raise DeployError(f"{Path(argv[0]).name} exited {rc}", log.read_text(errors="replace"))


def _local_logs(inst: ServiceInstance) -> str:
    return inst.log.read_text(errors="replace") if inst.log and inst.log.exists() else ""


def _local_exit(inst: ServiceInstance) -> int | None:
    return inst.proc.poll() if inst.proc is not None else None


def wait_ready(
    inst: ServiceInstance,
    exit_code: Callable[[ServiceInstance], int | None] = _local_exit,
    logs: Callable[[ServiceInstance], str] = _local_logs,
) -> None:
    """Wait until the lab can log in to the service; the service ending or the deadline is a
    DeployError with its output."""
    if inst.kind == "postgresql":
        import psycopg

        def probe() -> None:
            psycopg.connect(**{**inst.lab_connection(), "dbname": "postgres"}, connect_timeout=2).close()
    else:
        import redis

        def probe() -> None:
            client = redis.Redis(**inst.lab_connection(), socket_timeout=2, socket_connect_timeout=2)
            try:
                client.ping()
            finally:
                client.close()

    deadline = time.monotonic() + READY_TIMEOUT_S
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = exit_code(inst)
        if code is not None:
            raise DeployError(
                f"the {inst.kind} service {inst.name} exited with code {code} before it was ready", logs(inst)
            )
        try:
            probe()
            return
        except Exception as e:  # noqa: BLE001 - any client error means "not ready yet"
            last = f"{type(e).__name__}: {e}".strip()
        time.sleep(0.1)
    raise DeployError(
        f"the {inst.kind} service {inst.name} was not ready within {READY_TIMEOUT_S:g} s ({last})", logs(inst)
    )


def set_up(inst: ServiceInstance, logs: Callable[[ServiceInstance], str] = _local_logs) -> None:
    """After wait_ready: note the version and, for PostgreSQL, make the sample's role (owner of its
    database, not a superuser) and database."""
    if inst.kind == "redis":
        import redis

        client = redis.Redis(**inst.lab_connection(), socket_timeout=5)
        try:
            inst.version = f"Redis {client.info('server').get('redis_version', '')}"
        finally:
            client.close()
        return
    import psycopg
    from psycopg import sql

    try:
        with psycopg.connect(
            **{**inst.lab_connection(), "dbname": "postgres"}, connect_timeout=5, autocommit=True
        ) as conn:
            row = conn.execute("SHOW server_version").fetchone()
            inst.version = f"PostgreSQL {row[0] if row else '?'}"
            conn.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(inst.user), sql.Literal(inst.password)
                )
            )
            conn.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(inst.database), sql.Identifier(inst.user))
            )
    except psycopg.Error as e:
        raise DeployError(
            f"the postgresql service {inst.name} started, but making role {inst.user!r} and database "
            f"{inst.database!r} failed: {str(e).strip()}",
            logs(inst),
        ) from None


def start_local(
    decl: Service, workdir: Path, ns: Namespace | None, on_start: Callable[[ServiceInstance], None]
) -> ServiceInstance:
    """Start one declared service for a local deployment (in the namespace if given). `on_start`
    gets the instance as soon as it has a process, so a failure after that is still torn down and
    a killed run leaves a ledger record of it."""
    uid, gid = _service_ids(decl.kind)
    home, temporary = _home(workdir, decl.name, uid, gid)
    logs = workdir / "services"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{decl.name}.log"
    # In a namespace of its own the service has the whole loopback: its usual port, unseen from outside.
    host = "127.0.0.1"
    port = DEFAULT_PORT[decl.kind] if ns is not None else free_port()
    lab_pw = password()
    inst = ServiceInstance(
        name=decl.name,
        kind=decl.kind,
        host=host,
        port=port,
        user=decl.user if decl.kind == "postgresql" else "default",
        password=password() if decl.kind == "postgresql" else lab_pw,
        database=decl.database if decl.kind == "postgresql" else "0",
        lab_host=str(home),
        lab_password=lab_pw,
        home=home,
        temporary=temporary,
        log=log,
    )
    try:
        if decl.kind == "postgresql":
            _start_postgresql(inst, uid, gid, ns, on_start)
        else:
            _start_redis(inst, uid, gid, ns, on_start)
    except BaseException:
        if inst.proc is None:  # never started: teardown will not know of it
            shutil.rmtree(home, ignore_errors=True)
        raise
    return inst


def _private_file(path: Path, text: str, uid: int, gid: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chown(path, uid, gid)


def _start_postgresql(
    inst: ServiceInstance, uid: int, gid: int, ns: Namespace | None, on_start: Callable[[ServiceInstance], None]
) -> None:
    assert inst.home is not None and inst.log is not None
    bindir = _pg_bin()
    data = inst.home / "data"
    pwfile = inst.home / "lab.pw"
    _private_file(pwfile, inst.lab_password + "\n", uid, gid)
    try:
        _run_as(
            [str(bindir / "initdb"), "-D", str(data), "-U", LAB_USER, "--auth=scram-sha-256", f"--pwfile={pwfile}",
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync", "--no-instructions"],
            uid, gid, inst.log, inst.home,
        )  # fmt: skip
    finally:
        pwfile.unlink(missing_ok=True)
    # A private, disposable instance: durability settings off, so it starts and writes fast.
    inst.proc = _spawn(
        [str(bindir / "postgres"), "-D", str(data), "-k", str(inst.home), "-h", inst.host, "-p", str(inst.port),
         "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
         "-c", "max_connections=50", "-c", "shared_buffers=16MB"],
        inst.log, uid, gid, ns, inst.home,
    )  # fmt: skip
    on_start(inst)
    wait_ready(inst)
    set_up(inst)


def _start_redis(
    inst: ServiceInstance, uid: int, gid: int, ns: Namespace | None, on_start: Callable[[ServiceInstance], None]
) -> None:
    assert inst.home is not None and inst.log is not None
    conf = inst.home / "redis.conf"
    # In a file, not on the command line: a password in argv is visible to every local user.
    _private_file(
        conf,
        "\n".join([
            f"port {inst.port}", f"bind {inst.host}", "protected-mode no", "daemonize no", 'logfile ""',
            f"unixsocket {inst.home / 'redis.sock'}", "unixsocketperm 700", f"dir {inst.home}",
            'save ""', "appendonly no", f"requirepass {inst.lab_password}",
        ]) + "\n",
        uid, gid,
    )  # fmt: skip
    inst.proc = _spawn([_redis_bin(), str(conf)], inst.log, uid, gid, ns, inst.home)
    on_start(inst)
    wait_ready(inst)
    set_up(inst)


# -- services in containers (container backend) -----------------------------------------------------
# The script a service container runs, as the service's own user, on the lab's services image
# (harness.deploy.images.SERVICES_RECIPE). The lab's password comes in the environment.
CONTAINER_SCRIPT = {
    "postgresql": (
        "set -e; B=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1); umask 077; "
        'printf "%s\\n" "$LAB_PASSWORD" > /tmp/lab.pw; '
        f"$B/initdb -D /tmp/data -U {LAB_USER} --auth=scram-sha-256 --pwfile=/tmp/lab.pw -E UTF8 "
        "--locale=C.UTF-8 --no-sync --no-instructions; rm -f /tmp/lab.pw; "
        # initdb allows loopback only; the sample and the lab come from the deployment's network.
        "printf 'host all all 0.0.0.0/0 scram-sha-256\\nhost all all ::/0 scram-sha-256\\n' >> /tmp/data/pg_hba.conf; "
        "exec $B/postgres -D /tmp/data -h '*' -p 5432 -k /tmp -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=50 -c shared_buffers=16MB"
    ),
    "redis": (
        'umask 077; printf \'port 6379\\nbind 0.0.0.0\\nprotected-mode no\\ndaemonize no\\nlogfile ""\\n'
        'dir /tmp\\nsave ""\\nappendonly no\\nrequirepass %s\\n\' "$LAB_PASSWORD" > /tmp/redis.conf; '
        "exec redis-server /tmp/redis.conf"
    ),
}


def container_instance(decl: Service, address: str, container_id: str, lab_password: str) -> ServiceInstance:
    """A service running in a container at `address` (on the deployment's internal network), on
    its usual port: the sample and the lab both reach it there."""
    pg = decl.kind == "postgresql"
    return ServiceInstance(
        name=decl.name,
        kind=decl.kind,
        host=address,
        port=DEFAULT_PORT[decl.kind],
        user=decl.user if pg else "default",
        password=password() if pg else lab_password,
        database=decl.database if pg else "0",
        lab_host=address,
        lab_password=lab_password,
        container_id=container_id,
    )


def stop_local(inst: ServiceInstance) -> None:
    """Stop the service and remove its data (the log stays with the deployment). Safe twice."""
    if inst.proc is not None:
        # PostgreSQL's SIGINT is its fast shutdown (SIGTERM would wait for every client to leave).
        kill_group(inst.proc.pid, signal.SIGINT if inst.kind == "postgresql" else signal.SIGTERM, STOP_GRACE_S)
        with contextlib.suppress(subprocess.TimeoutExpired):
            inst.proc.wait(timeout=5)
    if inst.home is not None:
        shutil.rmtree(inst.home, ignore_errors=True)


def cleanup_ledger(entries: list[dict[str, Any]]) -> list[str]:
    """Stop what a killed run's ledger says it started; a line per thing removed."""
    lines = []
    for e in entries:
        pgid, start = e.get("pgid"), str(e.get("start") or "")
        if isinstance(pgid, int) and pgid > 1 and start:
            if leftovers.group_members(pgid, start):
                kill_group(pgid, signal.SIGKILL, grace_s=1.0, start=start)
                lines.append(f"killed leftover service {e.get('name')} (process group {pgid})")
        elif pgid:
            lines.append(f"left leftover service {e.get('name')} alone: group {pgid} has no start time recorded")
        if e.get("home"):
            home = Path(str(e["home"]))
            # Only a directory this module made is removed, whatever a ledger file says.
            if home.parent == Path(tempfile.gettempdir()) and home.name.startswith("harness-svc-"):
                shutil.rmtree(home, ignore_errors=True)
    return lines
