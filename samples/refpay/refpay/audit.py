"""'cleartext-audit' defect: audit records forwarded as plain UDP syslog (RFC 3164 style).

A realistic integration mistake: the API itself is HTTPS-only, but every login and transfer is
also reported to a "log collector" over UDP in the clear, with the full card and ID numbers.
The socket is connected (no datagrams are accepted from anyone else) and kept open for the
process's life; send errors (nobody listening) are ignored, as syslog senders do.
"""

from __future__ import annotations

import socket
import threading

SYSLOG_PORT = 514
_FACILITY_LOCAL0_INFO = 134


class AuditForwarder:
    def __init__(self, host: str) -> None:
        target = "127.0.0.1" if host in ("", "0.0.0.0") else ("::1" if host == "::" else host)
        family = socket.AF_INET6 if ":" in target else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.connect((target, SYSLOG_PORT))
        self._lock = threading.Lock()

    def send(self, event: str, **fields: object) -> None:
        text = " ".join(f"{k}={v}" for k, v in fields.items())
        msg = f"<{_FACILITY_LOCAL0_INFO}>refpay: event={event} {text}".encode()
        with self._lock:
            for _attempt in range(2):
                try:
                    self._sock.send(msg)
                    return
                except OSError:
                    # An ICMP port-unreachable for an earlier datagram is reported on this send
                    # (and cleared): try once more, as a fire-and-forget syslog sender would.
                    continue

    def close(self) -> None:
        self._sock.close()
