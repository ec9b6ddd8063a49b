"""JR/T 0199-2020 chapter 9 架构安全: only the declared service ports are exposed.

Listening sockets are attributed to the sample, never guessed from a scan of a shared host:
its process tree's sockets, its container's network namespace, or a scan of an address that is
the unit's alone (harness.probes.ports)."""

import pytest

from harness.deploy import GUARD
from harness.probes import ports
from harness.probes.tls import ProbeError


@pytest.mark.clause("9.exposure")
def test_only_declared_ports_are_exposed(deployment, spec, evidence):
    declared = {p.name: p.port for p in spec.deployment.ports}
    exp = ports.exposure(deployment, declared, GUARD)
    undeclared = exp.undeclared()
    evidence.attach_json(
        "监听端口",
        {
            "method": exp.method,
            "expected": {str(k): v for k, v in exp.expected.items()},
            "excluded": {str(k): v for k, v in exp.excluded.items()},
            "listening": [s.__dict__ for s in exp.listeners],
            "undeclared": [s.describe() for s in undeclared],
            "declared_not_listening": exp.missing(),
        },
    )
    listening = ", ".join(s.describe() for s in exp.listeners)
    declared_text = ", ".join(f"{n}={p}" for p, n in exp.expected.items())
    evidence.observe(
        f"以{exp.method}确定样品监听 {len(exp.listeners)} 个端口：{listening or '无'}；声明端口 {declared_text}"
        + (
            f"；未声明的开放端口 {len(undeclared)} 个：{', '.join(s.describe() for s in undeclared)}"
            if undeclared
            else "；无未声明的开放端口"
        ),
        en=f"The sample listens on {len(exp.listeners)} port(s) ({_method_en(exp.method, deployment.host)}): "
        f"{listening or 'none'}; declared ports {declared_text}"
        + (
            f"; {len(undeclared)} undeclared open port(s): {', '.join(s.describe() for s in undeclared)}"
            if undeclared
            else "; no undeclared open port"
        ),
    )
    if exp.expected and len(exp.missing()) == len(exp.expected):
        # The probe must see the sample's own declared ports before an empty list of others means anything.
        raise ProbeError(
            f"{exp.method} found none of the declared ports listening ({', '.join(exp.missing())}): "
            "the probe did not see the sample's sockets"
        )
    assert not undeclared, "undeclared listening ports: " + ", ".join(s.describe() for s in undeclared)


def _method_en(method: str, host: str) -> str:
    """ports.exposure's method (a Chinese phrase) in English."""
    if method.startswith("进程树"):
        return "attributed through the sockets of its process tree, /proc"
    if method.startswith("容器"):
        return "attributed through the sockets of its processes in the container, /proc"
    return f"by a TCP connect scan of {host}"
