"""The report's fixed wording, per language: data, not strings scattered through the template.

The content model (report.json) keeps verdicts and severities in Chinese, as the lab states them;
an English rendering translates them here. Observed results stay as recorded (Chinese).
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("zh", "en")

LABELS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "型式试验报告",
        "title_supplementary": "补充检测报告",
        "supplements": (
            "本报告为 {number} 第 {revision} 版（{issued}）的补充检测报告，"
            "仅就下列变更涉及的检测项目重新检测，其余项目沿用原报告结论。"
        ),
        "changes_title": "变更及其影响的检测项目",
        "carried_mark": "沿用 {number} 第 {revision} 版（{date}）结论",
        "full_retest": "存在重大变更，全部检测项目重新检测。",
        "change_kind": "变更类别",
        "change_subject": "变更对象",
        "change_detail": "变更内容",
        "change_source": "来源",
        "change_clauses": "涉及检测项目",
        "declared": "申请方声明",
        "observed_only": "实验室观察到、未声明",
        "declared_only": "申请方声明、实验室未观察到",
        "colon": "：",
        "draft": "草稿（未经批准，不得作为报告使用）",
        "report_no": "报告编号",
        "revision": "第 {n} 版",
        "supersedes": "本版替代 {number} 第 {revision} 版。修订原因：{reason}",
        "page": "第 {page} 页 共 {pages} 页",
        "end": "—— 报告结束 ——",
        "sample_name": "样品名称",
        "model_version": "型号/版本",
        "applicant": "委托方",
        "producer": "生产者",
        "contact": "联系人",
        "test_type": "检测类别",
        "type_test": "型式试验",
        "lab": "检测机构",
        "issued": "签发日期",
        "not_issued": "（未签发）",
        "notes_title": "注意事项",
        "s_parties": "一、委托方与生产者",
        "address": "地址",
        "s_basis": "二、检测依据",
        "basis_text": "{standard}《{title}》，检测项目 {n} 项：",
        "clause": "条款",
        "item": "检测项目",
        "applicable": "适用性",
        "applicable_yes": "适用",
        "s_sample": "三、样品信息",
        "registration": "样品登记号",
        "cert_unit": "认证单元",
        "model": "型号",
        "version": "版本",
        "sample_kind": "样品类型",
        "condition": "样品状态",
        "media": "介质及摘要（SHA-256）",
        "image": "镜像",
        "hardware": "硬件清单",
        "hw_config": "配置",
        "hw_units": "数量",
        "hw_os": "操作系统",
        "hw_base": "基础软件",
        "s_dates": "四、日期",
        "received": "收样日期",
        "tested": "检测日期",
        "to": "至",
        "due": "报送截止日期",
        "due_rule": "检测完成后 {n} 个工作日，按国务院节假日安排计算",
        "due_unknown": "无法计算",
        "s_env": "五、检测环境",
        "host": "主机",
        "tools": "工具及版本",
        "deployments": "部署",
        "deployed": "已部署",
        "deploy_failed": "部署失败",
        "run_id": "检测批次",
        "s_deviations": "六、偏离、豁免与例外",
        "waivers": "偏离与豁免",
        "kind": "类别",
        "justification": "理由",
        "approved_by": "批准人",
        "approved_on": "批准日期",
        "expires": "有效期至",
        "scope": "范围",
        "state": "状态",
        "w_active": "有效",
        "w_expired": "已过期，不适用",
        "waiver": "豁免",
        "deviation": "偏离",
        "no_waivers": "无偏离或豁免。",
        "exclusions": "不适用项（例外）",
        "reason": "理由",
        "no_exclusions": "无。",
        "s_rule": "七、判定规则与声明",
        "s_results": "八、检测结果",
        "no": "序号",
        "requirement": "技术要求",
        "method": "检测方法",
        "observed": "检测结果",
        "verdict": "单项结论",
        "severity": "问题等级",
        "evidence": "证据",
        "recorded_by": "工程师记录：{engineer}，{time}",
        "deviation_mark": "（偏离：{text}）",
        "s_functional": "八（续）、功能测试",
        "use_case": "用例",
        "use_case_title": "用例名称",
        "basis_col": "依据",
        "s_models": "九、分型号结果",
        "s_conclusion": "十、检测结论",
        "summary": "统计",
        "s_manifest": "十一、证据清单",
        "manifest_text": "下列证据文件随报告保存，共 {n} 个；清单摘要（SHA-256）：",
        "path": "文件",
        "s_signatures": "签字",
        "prepared": "编制",
        "reviewed": "审核",
        "approved": "批准",
        "signed_at": "日期",
        "unsigned": "（未签）",
    },
    "en": {
        "title": "Type Test Report",
        "title_supplementary": "Supplementary Test Report",
        "supplements": (
            "This report supplements {number} revision {revision} ({issued}): only the items the changes below "
            "touch were tested again; the other items carry the original report's verdicts."
        ),
        "changes_title": "Changes and the items they touch",
        "carried_mark": "carried from {number} revision {revision} ({date})",
        "full_retest": "A major change is present: every item was tested again.",
        "change_kind": "Kind",
        "change_subject": "Subject",
        "change_detail": "Change",
        "change_source": "Source",
        "change_clauses": "Items touched",
        "declared": "declared by the holder",
        "observed_only": "observed by the lab, not declared",
        "declared_only": "declared, not observed",
        "colon": ": ",
        "draft": "DRAFT (not approved; not to be used as a report)",
        "report_no": "Report No.",
        "revision": "revision {n}",
        "supersedes": "This revision replaces {number} revision {revision}. Reason: {reason}",
        "page": "Page {page} of {pages}",
        "end": "—— End of report ——",
        "sample_name": "Sample",
        "model_version": "Model / version",
        "applicant": "Client",
        "producer": "Producer",
        "contact": "contact",
        "test_type": "Type of test",
        "type_test": "Type test",
        "lab": "Laboratory",
        "issued": "Date of issue",
        "not_issued": "(not issued)",
        "notes_title": "Notes",
        "s_parties": "1. Client and producer",
        "address": "Address",
        "s_basis": "2. Test basis",
        "basis_text": "{standard} {title}, {n} test items:",
        "clause": "Clause",
        "item": "Test item",
        "applicable": "Applicability",
        "applicable_yes": "applicable",
        "s_sample": "3. Sample",
        "registration": "Sample registration",
        "cert_unit": "Certification unit",
        "model": "model",
        "version": "version",
        "sample_kind": "Sample type",
        "condition": "Condition",
        "media": "Media and digests (SHA-256)",
        "image": "image",
        "hardware": "Hardware",
        "hw_config": "Configuration",
        "hw_units": "Units",
        "hw_os": "OS",
        "hw_base": "Base software",
        "s_dates": "4. Dates",
        "received": "Sample received",
        "tested": "Tested",
        "to": "to",
        "due": "Submission due",
        "due_rule": "{n} Chinese working days after completion of testing (State Council holiday calendar)",
        "due_unknown": "cannot be computed",
        "s_env": "5. Test environment",
        "host": "Host",
        "tools": "Tools and versions",
        "deployments": "Deployments",
        "deployed": "deployed",
        "deploy_failed": "deployment failed",
        "run_id": "Test run",
        "s_deviations": "6. Deviations, waivers and exclusions",
        "waivers": "Deviations and waivers",
        "kind": "Kind",
        "justification": "Justification",
        "approved_by": "Approved by",
        "approved_on": "Approved on",
        "expires": "Expires",
        "scope": "Scope",
        "state": "State",
        "w_active": "in force",
        "w_expired": "expired, not applied",
        "waiver": "waiver",
        "deviation": "deviation",
        "no_waivers": "No deviations or waivers.",
        "exclusions": "Not applicable items (exclusions)",
        "reason": "Reason",
        "no_exclusions": "None.",
        "s_rule": "7. Decision rule and statements",
        "s_results": "8. Results",
        "no": "No.",
        "requirement": "Requirement",
        "method": "Method",
        "observed": "Observed result",
        "verdict": "Verdict",
        "severity": "Severity",
        "evidence": "Evidence",
        "recorded_by": "recorded by engineer {engineer}, {time}",
        "deviation_mark": " (deviation: {text})",
        "s_functional": "8 (cont.). Functional tests",
        "use_case": "Use case",
        "use_case_title": "Title",
        "basis_col": "Basis",
        "s_models": "9. Results per model",
        "s_conclusion": "10. Conclusion",
        "summary": "Summary",
        "s_manifest": "11. Evidence manifest",
        "manifest_text": "The following {n} evidence files are kept with the report; manifest digest (SHA-256):",
        "path": "File",
        "s_signatures": "Signatures",
        "prepared": "Prepared by",
        "reviewed": "Reviewed by",
        "approved": "Approved by",
        "signed_at": "Date",
        "unsigned": "(not signed)",
    },
}

# Verdicts and severities are stated in Chinese in the content; these are their English renderings.
VALUES_EN: dict[str, str] = {
    "符合": "Conforms",
    "不符合": "Does not conform",
    "不适用": "Not applicable",
    "待判定": "Pending",
    "检测异常": "Lab error",
    "豁免": "Waived",
    "严重": "Critical",
    "一般": "Major",
    "建议": "Minor",
}

# Fixed statements of the content model, per language (the JSON carries the rendering language's text).
STATEMENT = {
    "zh": "本报告检测结果仅对所检样品有效。未经本实验室书面批准，不得部分复制本报告。",
    "en": "The results in this report apply only to the sample tested. This report shall not be reproduced "
    "except in full without the written approval of the laboratory.",
}
DECISION_RULE = {
    "zh": (
        "判定规则：逐项依据检测依据中的要求判定。自动化检查项在每个部署型号上均通过方判为“符合”，"
        "任一型号上不通过即判为“不符合”；因实验室原因未能完成的检查项记为“检测异常”，不作符合性判定，须复测；"
        "文档审查及半自动项由检测工程师依据证据记录判定。经批准豁免的条款判为“豁免”，不视为符合；"
        "偏离检测方法的条款在结果中注明偏离。不考虑测量不确定度（定性判定）。"
    ),
    "en": (
        "Decision rule: each item is judged against the requirement of the test basis. An automated item "
        "conforms only when it passes on every deployed model and does not conform when it fails on any; an "
        "item the laboratory could not complete is a lab error, not judged, and must be retested; document-"
        "review and semi-automated items are judged by the test engineer on recorded evidence. A clause under "
        "an approved waiver is reported as waived, never as conforming; a deviation from the test method is "
        "stated with the item. Measurement uncertainty is not considered (qualitative judgement)."
    ),
}
BASIS_NOTE = {
    "zh": "章节编号已依据公开目录核实；章内子条款编号未公开，表中条款为本实验室检测细则编号，待依据正式文本核对。",
    "en": "Chapter numbers are verified against the public table of contents; sub-clause numbers are not public, "
    "the clause IDs are the laboratory's test-procedure IDs, to be checked against the licensed text.",
}
TITLE = {"zh": LABELS["zh"]["title"], "en": LABELS["en"]["title"]}
TITLE_SUPPLEMENTARY = {"zh": LABELS["zh"]["title_supplementary"], "en": LABELS["en"]["title_supplementary"]}


def labels(language: str) -> dict[str, str]:
    return LABELS[language]


def value(text: Any, language: str) -> str:
    """A verdict or severity as the rendering language states it."""
    s = "" if text is None else str(text)
    return VALUES_EN.get(s, s) if language == "en" else s


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        from harness.report.build import ReportError

        raise ReportError(f"language {language!r}: the report is written in {' or '.join(LANGUAGES)}")
    return language
