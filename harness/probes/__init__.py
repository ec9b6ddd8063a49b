"""Probes: the lab's instruments (TLS scanner, packet capture, port scan, ...), each behind the scope guard."""
