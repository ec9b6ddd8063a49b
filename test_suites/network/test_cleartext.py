"""JR/T 0199-2020 chapter 11 网络安全: no password, card number or ID number on the wire in clear.

The capture covers every packet with one end on a socket the sample held during the check (its
declared ports and its own outbound channels, e.g. a log collector), not only its declared ports:
see harness.probes.capture for how packets are attributed on each kind of deployment."""

from decimal import Decimal

import pytest

from harness.checks.transaction import transfer_call
from harness.deploy import GUARD
from harness.drivers import DriverError
from harness.probes import capture
from harness.probes.tls import ProbeError
from harness.suite_support import usable_accounts
from harness.verdicts import not_applicable


def _secrets(driver):
    out = {}
    for a in driver.accounts():
        if a.password:
            out[f"{a.name} 的口令"] = a.password
        if a.card_number:
            out[f"{a.name} 的卡号"] = a.card_number
        if a.id_number:
            out[f"{a.name} 的证件号"] = a.id_number
    return out


def _exercise(driver, accts):
    """Log in, read, transfer and log out through the driver, as a user would: what was done, as
    (Chinese, English) pairs."""
    done = []
    sessions = [driver.session(a) for a in accts[:2]]
    done.append((f"登录 {len(sessions)} 次", f"{len(sessions)} logins"))
    payer = sessions[0]
    if driver.has("account"):
        driver.call("account", payer)
        done.append(("查询账户", "an account view"))
    if driver.has("transfer") and len(sessions) > 1:
        r = driver.send(transfer_call(driver, payer, sessions[1].account, Decimal("0.01")), payer)
        done.append((f"转账（应答 {r.status_code}）", f"a transfer (answer {r.status_code})"))
    if driver.has("history"):
        driver.call("history", payer)
        done.append(("查询交易记录", "a history view"))
    try:
        for s in sessions:
            driver.logout(s)
        done.append(("退出登录", "logout"))
    except DriverError:
        pass  # no logout declared
    return done


@pytest.mark.clause("11.cleartext")
def test_no_sensitive_data_crosses_in_cleartext(driver, deployment, spec, evidence):
    accts = usable_accounts(driver)
    if not accts:
        not_applicable(
            "样品未声明可用的普通测试账户，无法产生含敏感信息的流量",
            en="the sample declares no usable ordinary test account, so no traffic carrying sensitive information "
            "can be produced",
        )
    secrets = _secrets(driver)
    with capture.capture(deployment, GUARD) as cap:
        done = _exercise(driver, accts)
    pcap = cap.write_pcap(evidence.new_path("抓包 样品流量", ".pcap"))
    evidence.attach_file(pcap, "抓包 样品流量", kind="pcap")
    if not cap.packets:
        raise ProbeError(
            f"the capture on {cap.iface} ({cap.bpf}) attributed no packet to the sample "
            f"({cap.seen} seen): the check could not observe its traffic"
        )
    hits = cap.search(secrets)
    flows = cap.flows()
    evidence.attach_json(
        "明文检索结果",
        {
            "interface": cap.iface,
            "bpf": cap.bpf,
            "packets_seen": cap.seen,
            "packets_of_sample": len(cap.packets),
            "sample_ports": sorted(cap.sample_ports),
            "flows": {k: len(v) for k, v in flows.items()},
            "searched_for": sorted(secrets),
            "hits": [h.__dict__ for h in hits],
        },
    )
    evidence.observe(
        f"在接口 {cap.iface} 上抓取样品流量 {len(cap.packets)} 个数据包、{len(flows)} 个数据流"
        f"（操作：{'、'.join(zh for zh, _ in done)}），"
        + (
            f"发现 {len(hits)} 处敏感信息明文：" + "；".join(f"{h.label}（{h.form}，{h.flow}）" for h in hits[:6])
            if hits
            else f"检索 {len(secrets)} 项口令、卡号、证件号均未以明文出现"
        ),
        en=f"Captured {len(cap.packets)} packets in {len(flows)} flows of the sample's traffic on {cap.iface} "
        f"({', '.join(en for _, en in done)}); "
        + (
            f"{len(hits)} occurrence(s) of sensitive data in clear text, in the flows "
            + ", ".join(sorted({h.flow for h in hits}))
            if hits
            else f"none of the {len(secrets)} passwords, card and ID numbers searched for appeared in clear text"
        ),
    )
    assert not hits, "sensitive data in cleartext: " + "; ".join(f"{h.label} ({h.form}) in {h.flow}" for h in hits)
