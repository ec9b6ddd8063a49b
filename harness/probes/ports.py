"""Which ports the deployed sample exposes, attributed to the sample and nothing else.

On a shared lab host, scanning 127.0.0.1 finds every local service, not the sample's, so the
method depends on where the sample runs:

- a local process tree (process backend): the sockets its processes hold, read from ``/proc``
  (``/proc/<pid>/fd`` socket inodes matched against ``/proc/<pid>/net/{tcp,udp}{,6}``); the tree is
  the sample's session (the deployer starts it with its own session and process group);
- a local process in a lab network namespace (``isolation: namespace``): every socket of every
  process in that namespace (what ``ss`` run inside it lists, read from ``/proc``), so a daemon
  that left the sample's session is still the sample's; the services the lab started there for
  the sample (its database) are left out and named;
- a container: every socket of the container's own network namespace (``/proc/<pid>/net/*`` of
  its init process), since that namespace holds nothing but the sample;
- anything else (a terminal unit reached over the network): a bounded TCP connect scan of the
  deployment's address, which belongs to the unit alone, leaving out the lab's management port.

No new dependency: ``/proc`` is read directly (Linux only, root for other users' processes).
"""

from __future__ import annotations

import collections
import errno
import os
import selectors
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from harness.deploy.scope import ScopeGuard
from harness.deploy.sockets import (  # re-exported: the probes' view of /proc sockets
    Sock,
    process_tree,
    sockets_of_processes,
)
from harness.probes.tls import ProbeError


# -- network scan (for targets that are a whole machine of their own) ------------------------------
def _state(err: int) -> str:
    """A connect's outcome: the port answered, refused, or the local error that kept it unasked."""
    return "open" if err == 0 else "closed" if err == errno.ECONNREFUSED else os.strerror(err)


def _scan(address: str, ports: list[int], wait_s: float, at_once: int) -> dict[int, str]:
    """port -> "open", "closed" (refused), "filtered" (no answer in `wait_s`) or the local error that
    kept the lab from asking (too many open files, no free local port...). Non-blocking connects
    watched by one selector, `at_once` in flight: a task per port cost the whole scan of a unit's
    65,535 ports some 45 s of CPU, this a few."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    states: dict[int, str] = {}
    todo = iter(ports)
    live: dict[int, tuple[socket.socket, int]] = {}  # fd -> (socket, port)
    started: collections.deque[tuple[float, int, socket.socket]] = collections.deque()  # in start order
    with selectors.DefaultSelector() as sel:

        def done(fd: int, state: str) -> None:
            sock, port = live.pop(fd)
            states[port] = state
            sel.unregister(sock)
            sock.close()

        while True:
            for port in todo:
                try:
                    sock = socket.socket(family, socket.SOCK_STREAM)
                except OSError as e:
                    states[port] = e.strerror or type(e).__name__
                    continue
                sock.setblocking(False)
                err = sock.connect_ex((address, port))
                if err == errno.EINPROGRESS:
                    live[sock.fileno()] = (sock, port)
                    sel.register(sock, selectors.EVENT_WRITE)
                    started.append((time.monotonic() + wait_s, sock.fileno(), sock))
                    if len(live) >= at_once:
                        break
                    continue
                states[port] = _state(err)
                sock.close()
            if not live:
                return states
            while started and live.get(started[0][1], (None,))[0] is not started[0][2]:
                started.popleft()  # answered already (its descriptor may since belong to another port)
            wait = max(0.0, started[0][0] - time.monotonic()) if started else wait_s
            for key, _ in sel.select(timeout=wait):
                sock, _port = live[key.fd]
                done(key.fd, _state(sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
            now = time.monotonic()
            while started and started[0][0] <= now:
                _deadline, fd, sock = started.popleft()
                if live.get(fd, (None,))[0] is sock:
                    done(fd, "filtered")


def tcp_connect_scan(
    host: str, ports: Iterable[int], guard: ScopeGuard, timeout: float = 0.5, concurrency: int = 256
) -> list[int]:
    """Open TCP ports of `host` among `ports` (a full connect, then close). A port the lab could not
    ask (a local error) or that gave no answer in time is asked again, fewer at a time and with more
    patience; a port still unasked after that is the lab's failure (ProbeError), never "closed"."""
    ports = list(ports)
    # Every (address, port) is asked before any connection; the scan dials the allowed address.
    address = guard.addresses(host, ports[0], via="port scan")[0] if ports else host
    for p in ports:
        if not guard.in_scope(address, p):
            guard.check(address, p, via="port scan")  # raises OutOfScope, recorded
    states = _scan(address, ports, timeout, concurrency)
    again = [p for p, st in states.items() if st not in ("open", "closed")]
    if again and len(again) <= 4096:  # a few lost answers, not a host that drops everything
        states.update(_scan(address, again, timeout * 6, 32))
    unasked = {p: st for p, st in states.items() if st not in ("open", "closed", "filtered")}
    if unasked:
        port, why = next(iter(unasked.items()))
        raise ProbeError(f"the scan of {address} could not ask {len(unasked)} ports (port {port}: {why})")
    return sorted(p for p, st in states.items() if st == "open")


# -- the deployment's exposure ----------------------------------------------------------------------
@dataclass
class Exposure:
    method: str  # how the listeners were attributed to the sample (for the report)
    listeners: list[Sock] = field(default_factory=list)
    expected: dict[int, str] = field(default_factory=dict)  # port -> declared name, as seen by `method`
    excluded: dict[int, str] = field(default_factory=dict)  # ports left out on purpose, and why

    def undeclared(self) -> list[Sock]:
        return [s for s in self.listeners if s.local_port not in self.expected]

    def missing(self) -> list[str]:
        seen = {s.local_port for s in self.listeners}
        return [f"{name}({port})" for port, name in self.expected.items() if port not in seen]


def _container_pid(deployment: Any) -> int:
    try:
        info = deployment.client.api.inspect_container(deployment.container_id)
        return int(info["State"]["Pid"])
    except Exception as e:  # noqa: BLE001 - any engine failure means we could not look
        raise ProbeError(f"cannot find the sample container's process: {e}") from None


def exposure(deployment: Any, declared: dict[str, int], guard: ScopeGuard, scan_ports: range | None = None) -> Exposure:
    """The sample's listening sockets and the ports it declared (`declared`: name -> port in the spec).

    `deployment.ports` gives each declared port as reachable from the lab; inside a container the
    sample listens on the spec's own port numbers, so those are what a namespace view compares to.
    """
    guard.check_address(deployment.host, via="exposure")
    if getattr(deployment, "namespace", None) is not None:
        return _namespace_exposure(deployment)
    proc_obj = getattr(deployment, "proc", None)
    if proc_obj is not None and getattr(proc_obj, "pid", None):
        pids = process_tree(proc_obj.pid)
        if not pids:
            raise ProbeError("the sample's processes are gone")
        listeners = sorted(
            {s for s in sockets_of_processes(pids) if s.listening}, key=lambda s: (s.local_port, s.proto, s.local_ip)
        )
        expected = {port: name for name, port in deployment.ports.items()}
        return Exposure(f"进程树套接字归属（/proc，{len(pids)} 个进程）", listeners, expected)
    if getattr(deployment, "container_id", ""):
        # Owned sockets only: the container's network namespace also holds the engine's embedded
        # DNS resolver (127.0.0.11), which is the lab's infrastructure, not the sample's.
        pids = process_tree(_container_pid(deployment))
        if not pids:
            raise ProbeError("the sample container's processes are gone")
        listeners = sorted(
            {s for s in sockets_of_processes(pids) if s.listening}, key=lambda s: (s.local_port, s.proto, s.local_ip)
        )
        return Exposure(
            f"容器内样品进程的套接字归属（/proc，{len(pids)} 个进程）", listeners, {p: n for n, p in declared.items()}
        )
    # A machine of its own (terminal unit): scan its address.
    excluded: dict[int, str] = {}
    unit = getattr(getattr(deployment, "target", None), "unit", None) or {}
    if unit.get("host") == deployment.host and unit.get("port"):
        excluded[int(unit["port"])] = "实验室管理通道（SSH）"
    ports = [p for p in (scan_ports or range(1, 65536)) if p not in excluded]
    found = tcp_connect_scan(deployment.host, ports, guard)
    family = socket.AF_INET6 if ":" in deployment.host else socket.AF_INET
    listeners = [
        Sock("tcp", deployment.host, p, "0.0.0.0" if family == socket.AF_INET else "::", 0, "LISTEN", 0) for p in found
    ]
    expected = {port: name for name, port in deployment.ports.items()}
    method = f"对部署地址 {deployment.host} 的 TCP 全连接扫描（{len(ports)} 个端口）"
    return Exposure(method, listeners, expected, excluded)


def _namespace_exposure(deployment: Any) -> Exposure:
    ns = deployment.namespace
    pids = ns.pids()
    if not pids:
        raise ProbeError(f"nothing runs in the sample's network namespace {ns.name}")
    services = {}  # pid -> "db（postgresql）"
    for svc in deployment.services.values():
        if svc.proc is not None:
            for pid in process_tree(svc.proc.pid):
                services[pid] = f"{svc.name}（{svc.kind}）"
    listeners, excluded = [], {}
    for s in sockets_of_processes(pids):
        if not s.listening:
            continue
        if s.pid in services:
            excluded[s.local_port] = f"实验室为样品启动的服务 {services[s.pid]}"
        else:
            listeners.append(s)
    listeners.sort(key=lambda s: (s.local_port, s.proto, s.local_ip))
    expected = {port: name for name, port in deployment.ports.items()}
    method = f"网络命名空间 {ns.name} 内全部进程的套接字（/proc，{len(pids) - len(services)} 个样品进程）"
    return Exposure(method, listeners, expected, excluded)


def sample_local_ports(deployment: Any) -> set[int] | None:
    """Local ports of every socket the sample's processes hold right now (listening or connected);
    None when the deployment is not a local process tree on the host's own network (then a
    capture attributes by interface: a container's bridge, a namespace's link)."""
    proc_obj = getattr(deployment, "proc", None)
    if proc_obj is None or not getattr(proc_obj, "pid", None) or getattr(deployment, "namespace", None) is not None:
        return None
    return {s.local_port for s in sockets_of_processes(process_tree(proc_obj.pid)) if s.local_port}
