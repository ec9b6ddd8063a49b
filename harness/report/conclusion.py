"""What a report concludes: the statement of conformity over the standard's requirements, the
functional tests' own line, and what still stops the report being final."""

from __future__ import annotations

from typing import Any

from harness.report.terms import CONFORM, LAB_ERROR, NONCONFORM, NOT_APPLICABLE, PENDING, WAIVED, tx
from harness.results.content import ItemRow, ReportContent, Text


def unfinished(content: ReportContent | dict[str, Any]) -> list[str]:
    """The items that stop a report being final: pending (待判定) or lab errors (检测异常). A stored
    content is read as JSON (the rows' item_id and verdict are the same in every schema)."""
    rows = (
        [(r.item_id, r.verdict) for r in content.all_rows()]
        if isinstance(content, ReportContent)
        else [(i["item_id"], i["verdict"]) for i in content["items"] + content.get("functional", [])]
    )
    return [f"{item} ({verdict})" for item, verdict in rows if verdict in (PENDING, LAB_ERROR)]


def _title(i: ItemRow, lang: str) -> str:
    return str(i.title.get(lang) or i.title.get("zh"))


def conclusion(content: ReportContent) -> Text:
    """The overall statement of conformity: requirements of the standard only (CNAS-CL01 7.8.6)."""
    s = content.summary
    std = content.basis.standard
    total = sum(s.values())
    waived = s.get(WAIVED, 0)
    waived_zh = f"另有 {waived} 项经批准豁免，未作符合性判定（见第六部分）。" if waived else ""
    waived_en = f" {waived} item(s) are waived by approval and not judged (see section 6)." if waived else ""
    if s[LAB_ERROR] or s[PENDING]:
        return tx(
            f"检测尚未完成：{std} 检测项目 {total} 项中，{s[PENDING]} 项待判定，{s[LAB_ERROR]} 项检测异常"
            f"（实验室原因），暂不作总体结论。{waived_zh}",
            f"Testing is not complete: of the {total} test items of {std}, {s[PENDING]} are pending and "
            f"{s[LAB_ERROR]} have lab errors; no overall conclusion is given.{waived_en}",
        )
    bad = [i for i in content.items if i.verdict == NONCONFORM]
    counts_zh = f"符合 {s[CONFORM]} 项，不符合 {s[NONCONFORM]} 项，不适用 {s[NOT_APPLICABLE]} 项"
    counts_en = f"{s[CONFORM]} conform, {s[NONCONFORM]} do not conform, {s[NOT_APPLICABLE]} not applicable"
    if bad:
        return tx(
            f"依据 {std}，检测项目 {total} 项（{counts_zh}）。不符合要求的项目："
            + "；".join(f"{i.item_id} {_title(i, 'zh')}" for i in bad)
            + f"。{waived_zh}",
            f"Against {std}, {total} test items ({counts_en}). Items that do not conform: "
            + "; ".join(f"{i.item_id} {_title(i, 'en')}" for i in bad)
            + f".{waived_en}",
        )
    return tx(
        f"依据 {std}，检测项目 {total} 项（{counts_zh}），所检项目均符合要求。{waived_zh}",
        f"Against {std}, {total} test items ({counts_en}): every item tested conforms.{waived_en}",
    )


def functional_conclusion(content: ReportContent) -> Text:
    """The use cases and API conformance, counted apart from the standard's requirements."""
    f = content.functional_summary
    total = sum(f.values())
    if not total:
        return tx("", "")
    bad = [i for i in content.functional if i.verdict == NONCONFORM]
    zh = (
        f"功能测试（用户文档所述用例及接口一致性）{total} 项：符合 {f.get(CONFORM, 0)} 项，"
        f"不符合 {f.get(NONCONFORM, 0)} 项，不适用 {f.get(NOT_APPLICABLE, 0)} 项"
        + (f"，检测异常 {f.get(LAB_ERROR, 0)} 项" if f.get(LAB_ERROR) else "")
        + (f"，待判定 {f.get(PENDING, 0)} 项" if f.get(PENDING) else "")
        + (f"（不符合：{'、'.join(i.item_id for i in bad)}）" if bad else "")
        + "。功能测试不属于检测依据的要求，不计入上述结论。"
    )
    en = (
        f"Functional tests (the user documentation's use cases and API conformance), {total}: "
        f"{f.get(CONFORM, 0)} conform, {f.get(NONCONFORM, 0)} do not conform, {f.get(NOT_APPLICABLE, 0)} not applicable"
        + (f", {f.get(LAB_ERROR, 0)} lab errors" if f.get(LAB_ERROR) else "")
        + (f", {f.get(PENDING, 0)} pending" if f.get(PENDING) else "")
        + (f" (not conforming: {', '.join(i.item_id for i in bad)})" if bad else "")
        + ". They are not requirements of the test basis and are not part of the conclusion above."
    )
    return tx(zh, en)
