"""JR/T 0199-2020 chapter 6 服务质量: response time against the latency the sample declared."""

import statistics
import time

import pytest

from harness.suite_support import accepted, accounts, require_operations

REQUESTS = 40  # bounded: a type test measures the declared figure, it is not a load test
WARM_UP = 3
TIME_LIMIT_S = 30.0


@pytest.mark.clause("6.latency")
def test_response_time_meets_the_declared_p95(driver, params, spec, evidence):
    require_operations(driver, "account")
    (acct,) = accounts(driver, 1)
    s = driver.session(acct)
    call = driver.prepare("account", s)
    for _ in range(WARM_UP):
        driver.send(call, s, note="预热")
    timings_ms: list[float] = []
    refused: list[int] = []
    deadline = time.monotonic() + TIME_LIMIT_S
    while len(timings_ms) < REQUESTS and time.monotonic() < deadline:
        t = time.perf_counter()
        r = driver.send(call, s, note="计时请求")
        timings_ms.append((time.perf_counter() - t) * 1000)
        if not accepted(driver, "account", r):
            refused.append(r.status_code)
    p95 = statistics.quantiles(timings_ms, n=20, method="inclusive")[18]
    p50 = statistics.median(timings_ms)
    evidence.attach_json(
        "响应时间测量",
        {"operation": "account", "requests": len(timings_ms), "declared_p95_ms": params.latency_p95_ms,
         "p50_ms": round(p50, 2), "p95_ms": round(p95, 2), "max_ms": round(max(timings_ms), 2),
         "timings_ms": [round(x, 2) for x in timings_ms], "refused_statuses": refused},
    )  # fmt: skip
    evidence.observe(
        f"顺序发送账户查询 {len(timings_ms)} 次：P50 {p50:.1f} ms，P95 {p95:.1f} ms，"
        f"最大 {max(timings_ms):.1f} ms；声明 P95 ≤ {params.latency_p95_ms:g} ms；失败应答 {len(refused)} 次"
    )
    assert len(timings_ms) >= REQUESTS, f"only {len(timings_ms)} requests answered within {TIME_LIMIT_S:g} s"
    assert not refused, f"{len(refused)} of {len(timings_ms)} requests were refused: {sorted(set(refused))}"
    assert p95 <= params.latency_p95_ms, f"P95 {p95:.1f} ms exceeds the declared {params.latency_p95_ms:g} ms"
