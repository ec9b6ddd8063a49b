"""Packet capture of the sample's traffic (scapy), attributed to the sample, searched for secrets.

Where and what is captured depends on where the sample runs:

- local process tree: the loopback interface, BPF ``host <address>``; while capturing, the
  sample's sockets are polled from ``/proc`` (every 20 ms), and only packets with one end on a
  port the sample held are kept. That includes its outbound channels (a log collector, a
  downstream service), not only its declared ports, and leaves other processes' loopback traffic
  out of the evidence;
- a local process in a lab network namespace: the host's side of the namespace's link (every
  packet there is the sample's; the harness reaches it from the network, not from loopback);
- a container: its deployment bridge (every packet there is the sample's or its edge's);
- anything else (a terminal unit): the interface that routes to its address, BPF
  ``host <address>``, without the lab's management port.

The pcap written holds only the attributed packets. Traffic between the sample and a service
the lab started for it (its database) is left out by the BPF filter: the lab provides those
services on a private link without TLS, so what crosses there says nothing about the product.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.deploy.scope import ScopeGuard
from harness.probes.ports import sample_local_ports
from harness.probes.tls import ProbeError


@dataclass
class Hit:
    label: str  # what was found, e.g. "alice 的口令"
    form: str  # raw | url-encoded | json-escaped | base64
    flow: str  # "udp 127.0.0.1:41234 -> 127.0.0.1:514"
    excerpt: str


@dataclass
class CaptureResult:
    iface: str
    bpf: str
    packets: list[Any] = field(default_factory=list)  # attributed packets only
    seen: int = 0  # packets on the interface matching the BPF filter
    sample_ports: set[int] = field(default_factory=set)

    def flows(self) -> dict[str, bytes]:
        """Payload bytes per direction of each TCP/UDP flow, in capture order (naive reassembly:
        loopback and bridge MTUs make reordering and loss negligible for a few requests)."""
        from scapy.layers.inet import IP, TCP, UDP
        from scapy.layers.inet6 import IPv6

        out: dict[str, bytearray] = {}
        for p in self.packets:
            ip = p.getlayer(IP) or p.getlayer(IPv6)
            l4 = p.getlayer(TCP) or p.getlayer(UDP)
            if ip is None or l4 is None:
                continue
            payload = bytes(l4.payload)
            if not payload:
                continue
            kind = "tcp" if p.haslayer(TCP) else "udp"
            key = f"{kind} {ip.src}:{l4.sport} -> {ip.dst}:{l4.dport}"
            out.setdefault(key, bytearray()).extend(payload)
        return {k: bytes(v) for k, v in out.items()}

    def search(self, secrets: dict[str, str]) -> list[Hit]:
        """Every secret (label -> value) that crossed in a readable form."""
        hits = []
        flows = self.flows()
        for label, value in secrets.items():
            if not value:
                continue
            forms = {
                "raw": value.encode(),
                "url-encoded": urllib.parse.quote(value, safe="").encode(),
                "json-escaped": json.dumps(value)[1:-1].encode(),
                "base64": base64.b64encode(value.encode()),
            }
            for flow, data in flows.items():
                for form, needle in dict.fromkeys(forms.items()):
                    i = data.find(needle)
                    if i >= 0:
                        lo, hi = max(0, i - 40), min(len(data), i + len(needle) + 40)
                        hits.append(Hit(label, form, flow, data[lo:hi].decode("latin-1")))
                        break
        return hits

    def write_pcap(self, path: Path) -> Path:
        from scapy.utils import wrpcap

        path.parent.mkdir(parents=True, exist_ok=True)
        wrpcap(str(path), self.packets)
        return path


def _where(deployment: Any) -> tuple[str, str]:
    """(interface, BPF filter) for this deployment."""
    host = deployment.host
    services = "".join(
        f" and not (host {s.host} and port {int(s.port)})"
        for s in (getattr(deployment, "services", None) or {}).values()
    )
    namespace = getattr(deployment, "namespace", None)
    if namespace is not None:  # its services listen on the namespace's own loopback: never on the link
        return namespace.host_if, "tcp or udp"
    if getattr(deployment, "proc", None) is not None:
        return "lo", f"host {host} and (tcp or udp){services}"
    bridge = getattr(deployment, "bridge", "")
    if getattr(deployment, "container_id", "") and bridge:
        return bridge, f"(tcp or udp){services}"
    from scapy.config import conf

    iface = conf.route.route(host)[0] if ":" not in host else conf.route6.route(host)[0]
    bpf = f"host {host} and (tcp or udp)"
    unit = getattr(getattr(deployment, "target", None), "unit", None) or {}
    if unit.get("host") == host and unit.get("port"):
        bpf += f" and not port {int(unit['port'])}"
    return str(iface), bpf


@contextmanager
def capture(deployment: Any, guard: ScopeGuard, settle_s: float = 0.3) -> Iterator[CaptureResult]:
    """Capture while the body runs; the result is filled when the block ends."""
    guard.check_address(deployment.host, via="capture")  # listens only: no connection to check
    from scapy.sendrecv import AsyncSniffer

    iface, bpf = _where(deployment)
    result = CaptureResult(iface=iface, bpf=bpf)
    started = threading.Event()
    stop_polling = threading.Event()
    attribute = sample_local_ports(deployment) is not None

    def poll() -> None:
        while not stop_polling.is_set():
            result.sample_ports |= sample_local_ports(deployment) or set()
            stop_polling.wait(0.02)

    sniffer = AsyncSniffer(iface=iface, filter=bpf, store=True, started_callback=started.set)
    try:
        sniffer.start()
    except Exception as e:  # noqa: BLE001 - no permission, no libpcap, no such interface
        raise ProbeError(f"cannot capture on {iface} ({bpf}): {e}") from None
    if not started.wait(5):
        raise ProbeError(f"the capture on {iface} did not start")
    poller = threading.Thread(target=poll, daemon=True)
    if attribute:
        poller.start()
    try:
        yield result
    finally:
        time.sleep(settle_s)  # let the last segments and datagrams arrive
        stop_polling.set()
        if attribute:
            poller.join(2)
        packets = [_dissect(p) for p in (sniffer.stop() or [])]
        result.seen = len(packets)
        if attribute:
            result.packets = [p for p in packets if _ports(p) & result.sample_ports]
        else:
            result.packets = list(packets)


def _dissect(p: Any) -> Any:
    """Loopback, bridges and veths all carry Ethernet framing; scapy sometimes cannot tell from the
    socket (then it hands back undissected packets), so dissect those as Ethernet here."""
    from scapy.layers.inet import IP
    from scapy.layers.inet6 import IPv6
    from scapy.layers.l2 import Ether

    if p.haslayer(IP) or p.haslayer(IPv6):
        return p
    q = Ether(bytes(p))
    q.time = p.time
    return q


def _ports(p: Any) -> set[int]:
    from scapy.layers.inet import TCP, UDP

    for layer in (TCP, UDP):
        if layer in p:
            return {int(p[layer].sport), int(p[layer].dport)}
    return set()
