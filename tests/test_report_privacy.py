"""The report's privacy filter and its wording rules, on their own: every string of the content is
filtered (C2 masked by the lab's rule, passwords gone), an English rendering never falls back to
Chinese, and a lab error is a sentence of the report's language."""

from __future__ import annotations

from harness.report.labels import MISSING_EN, pick
from harness.report.privacy import Redactor, shipped
from harness.report.rows import error_text, verdict_observation
from harness.report.terms import tx
from harness.results import Outcome, VerdictRecord

SPEC = {
    "driver": {
        "accounts": [
            {
                "name": "alice",
                "password": "Alice#2024pay",
                "card_number": "6222021234567890128",
                "id_number": "11010519491231002X",
                "phone": "13812345678",
            }
        ]
    }
}


def test_every_string_of_the_content_is_filtered() -> None:
    r = Redactor.for_spec(SPEC)
    content = {
        "observed": [{"text": tx("卡号 6222021234567890128，口令 Alice#2024pay", "card 6222 0212 3456 7890 128")}],
        "evidence": [{"title": "手机 138-1234-5678", "path": "evidence/x/13812345678.txt"}],
        "other person": "身份证 440524188001010014",  # not a test account's: the detectors find it
        "numbers": [20261203, "R-20261203-184228-6f0a", "a" * 64],
    }
    out = r.walk(content)
    text = str(out)
    for secret in ("6222021234567890128", "Alice#2024pay", "13812345678", "440524188001010014", "7890 128"):
        assert secret not in text, secret
    assert "622202*********0128" in out["observed"][0]["text"]["zh"]  # the lab's rule: first 6, last 4
    assert "138****5678" in out["evidence"][0]["path"]  # the file name too, as the folder names it
    assert out["numbers"] == content["numbers"]  # run IDs, digests and dates are left alone
    assert r.relpath("evidence/x/13812345678.txt") == out["evidence"][0]["path"]


def test_what_travels_with_the_report() -> None:
    assert shipped("transcript", "evidence/a/http-transcript.txt") == "masked"
    assert shipped("figure", "evidence/a/latency.png") == "as-is"  # the lab's own chart
    assert shipped("screenshot", "evidence/a/page.png") == "retained"  # may show unmasked data
    assert shipped("pcap", "evidence/a/capture.pcap") == "retained"


def test_english_never_falls_back_to_chinese() -> None:
    assert pick(tx("中文", None), "en") == MISSING_EN
    assert pick(tx("中文", "English"), "en") == "English"
    assert pick(tx("中文", None), "zh") == "中文"
    assert "中" not in MISSING_EN


def test_a_lab_error_is_a_sentence_of_the_report() -> None:
    own = error_text({"kinds": ["DriverError", "LabError"], "zh": "登录接口返回 502，驱动无法取得会话"})
    assert own["zh"].startswith("登录接口返回 502")  # the error's own Chinese sentence
    assert own["en"].startswith("the lab's driver")  # English by its kind
    by_kind = error_text({"kinds": ["ProbeError", "LabError"], "zh": None})
    assert by_kind["zh"].startswith("探测工具未能完成测量") and "须复测" in by_kind["zh"]
    unknown = error_text({"kinds": ["KeyError", "LookupError", "Exception"], "zh": None})
    assert "实验室原因" in unknown["zh"] and "KeyError" not in unknown["zh"] + unknown["en"]


def test_a_not_applicable_row_gives_its_reason_in_both_languages() -> None:
    v = VerdictRecord(
        check_id="c", clause_ids=("x",), model="m", outcome=Outcome.NOT_APPLICABLE, detail="中文", summary_en="English"
    )
    row = verdict_observation(v)
    assert (row["zh"], row["en"]) == ("不适用：中文", "not applicable: English")
    without = verdict_observation(VerdictRecord(check_id="c", clause_ids=(), model="m", outcome=Outcome.NOT_APPLICABLE))
    assert pick(without, "en") == MISSING_EN  # no English recorded: the marker, never the Chinese


def test_a_figure_is_shown_inline_and_other_evidence_is_linked() -> None:
    """Evidence of kind "figure" (a chart a check drew) is an image in the report, below its row; a
    transcript is a relative link; a screenshot is named as kept by the lab."""
    from benchmarks.bench_report_pdf import synthesize
    from harness.report.render import html

    content = synthesize(2)
    row = content["items"][0]
    row["evidence"] = [
        {
            "title": tx("响应时间分布", "latency histogram"),
            "kind": "figure",
            "path": "evidence/a/01-hist.png",
            "sha256": "1" * 64,
        },
        {
            "title": tx("HTTP 交互记录", "HTTP transcript"),
            "kind": "transcript",
            "path": "evidence/a/t.txt",
            "sha256": "2" * 64,
        },
        {"title": tx("截图 1", "screenshot"), "kind": "screenshot", "path": "evidence/a/s.png", "sha256": "3" * 64},
    ]
    zh, en = html(content, "zh"), html(content, "en")
    assert '<img src="evidence/a/01-hist.png" alt="响应时间分布">' in zh
    assert '<img src="evidence/a/01-hist.png" alt="latency histogram">' in en
    assert '<a href="evidence/a/t.txt">HTTP transcript</a>' in en
    assert "s.png" not in zh and "由实验室留存" in zh
