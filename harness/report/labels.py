"""The report's fixed wording, per language: data, not strings scattered through the template.

The content model (report.json) keeps verdicts and severities as the lab states them (Chinese);
a rendering translates them here, and picks the language of every ``{"zh", "en"}`` text. Where a
text has no English, the English rendering says so visibly (``MISSING_EN``), never in Chinese.
"""

from __future__ import annotations

from typing import Any

from harness.report.terms import ReportError
from harness.results.content import Text

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
        "list_sep": "；",
        "paren": "（{}）",
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
        "accreditation": "认可编号",
        "issued": "签发日期",
        "not_issued": "（未签发）",
        "notes_title": "注意事项",
        "note_copy": "本报告检测结果仅对所检样品有效；未经本实验室书面批准，不得部分复制本报告。",
        "note_sign": "本报告须经编制、审核、批准签字方为有效；批准版 PDF 带有本实验室的数字签名，内容改动即失效。",
        "note_language": "本报告以中文签发；英文版为同一报告的译本，编号相同，内容以中文版为准。",
        "note_manifest": "报告编号 {number}{rev}；证据清单摘要（SHA-256）：",
        "s_parties": "一、委托方与生产者",
        "address": "地址",
        "s_basis": "二、检测依据",
        "basis_text": "{standard}《{title}》，检测项目 {n} 项（适用 {applicable} 项，不适用 {na} 项）：",
        "clause": "条款",
        "item": "检测项目",
        "s_sample": "三、样品信息",
        "registration": "样品登记号",
        "cert_unit": "认证单元",
        "model": "型号",
        "version": "版本",
        "sample_kind": "样品类型",
        "condition": "样品状态",
        "supply": "样品来源及抽样",
        "media": "介质及摘要（SHA-256）",
        "image": "镜像",
        "hardware": "声明的硬件清单",
        "hw_model": "型号",
        "hw_config": "配置",
        "hw_units": "数量",
        "hw_os": "操作系统",
        "hw_base": "基础软件",
        "s_dates": "四、日期",
        "received": "收样日期",
        "tested": "检测时间",
        "to": "至",
        "time_zone": "时区",
        "due": "报送截止日期",
        "due_rule": "检测完成后 {n} 个工作日，按国务院节假日安排计算",
        "due_unknown": "无法计算",
        "s_env": "五、检测地点、配置与环境",
        "location": "检测地点",
        "configs": "检测配置",
        "config": "配置",
        "config_what": "说明",
        "stands_for": "代表的声明型号",
        "declared_hw": "是否为声明硬件",
        "yes": "是",
        "no_": "否",
        "deploy_state": "部署",
        "host": "实验室主机",
        "tools": "工具及版本",
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
        "scope_run": "检测批次 {id}",
        "scope_sample": "样品 {id}（其全部检测批次）",
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
        "s_results": "八、检测结果（检测依据的要求）",
        "results_note": "每条结果注明其获得的检测配置（见第五部分）。",
        "no": "序号",
        "requirement": "技术要求",
        "method": "检测方法",
        "observed": "检测结果",
        "verdict": "单项结论",
        "severity": "问题等级",
        "evidence": "证据",
        "retained_count": "另有 {n} 个证据文件（{kinds}）由实验室留存，见证据清单",
        "recorded_by": "工程师记录：{engineer}，{time}",
        "record_reference": "审查依据：{ref}",
        "record_no_evidence": "无证据：{reason}",
        "deviation_mark": "（偏离：{text}）",
        "opinion_mark": "另见第十一部分意见 {n}",
        "s_functional": "九、功能测试（用户文档用例及接口一致性）",
        "functional_note": "功能测试依据样品的用户文档及接口文档进行，不属于检测依据的要求，单独统计，不计入检测结论。",
        "use_case": "用例",
        "use_case_title": "用例名称",
        "basis_col": "依据",
        "s_models": "十、分配置结果",
        "models_note": "下表按检测配置统计检查项次（一项检查在一个配置上执行一次为一项次），"
        "与按检测项目统计的结论口径不同。",
        "checks_unit": "检查项次",
        "models_agree": "各检测配置上的单项结论一致。",
        "models_differ": "下列检测项目在各检测配置上的结论不同：",
        "s_opinions": "十一、意见和解释",
        "opinions_note": "以下为本实验室的意见和提示，不属于检测结果，不影响单项结论及检测结论（CNAS-CL01 7.8.7）。",
        "no_opinions": "无。",
        "opinion_on": "{item}（{config}）",
        "s_conclusion": "十二、检测结论",
        "summary": "检测项目统计（项）",
        "functional_summary": "功能测试统计（项）",
        "s_manifest": "十三、证据清单",
        "manifest_text": "随报告提供的证据文件共 {n} 个（文本证据中的个人金融信息已按本实验室规则屏蔽，口令已隐去）；"
        "清单摘要（SHA-256）：",
        "manifest_retained": "下列证据（截图、抓包等）可能含未屏蔽的个人信息，由实验室留存，"
        "此处仅列其摘要，共 {n} 个：",
        "path": "文件",
        "s_signatures": "签字",
        "prepared": "编制",
        "reviewed": "审核",
        "approved": "批准",
        "signed_at": "日期",
        "unsigned": "（未签）",
        "lab_missing": "（未配置实验室信息）",
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
        "list_sep": "; ",
        "paren": " ({})",
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
        "accreditation": "Accreditation No.",
        "issued": "Date of issue",
        "not_issued": "(not issued)",
        "notes_title": "Notes",
        "note_copy": "The results apply only to the sample tested. This report shall not be reproduced except in full "
        "without the written approval of the laboratory.",
        "note_sign": "The report is valid only when prepared, reviewed and approved; the approved PDF carries the "
        "laboratory's digital signature, which any change invalidates.",
        "note_language": "This is the English rendering of the report issued in Chinese, under the same number; "
        "where they differ, the Chinese report prevails.",
        "note_manifest": "Report No. {number}{rev}; evidence manifest digest (SHA-256): ",
        "s_parties": "1. Client and producer",
        "address": "Address",
        "s_basis": "2. Test basis",
        "basis_text": "{standard} {title}, {n} test items ({applicable} applicable, {na} not applicable):",
        "clause": "Clause",
        "item": "Test item",
        "s_sample": "3. Sample",
        "registration": "Sample registration",
        "cert_unit": "Certification unit",
        "model": "model",
        "version": "version",
        "sample_kind": "Sample type",
        "condition": "Condition",
        "supply": "Supply and sampling",
        "media": "Media and digests (SHA-256)",
        "image": "image",
        "hardware": "Declared hardware",
        "hw_model": "Model",
        "hw_config": "Configuration",
        "hw_units": "Units",
        "hw_os": "OS",
        "hw_base": "Base software",
        "s_dates": "4. Dates",
        "received": "Sample received",
        "tested": "Tested",
        "to": "to",
        "time_zone": "Time zone",
        "due": "Submission due",
        "due_rule": "{n} Chinese working days after completion of testing (State Council holiday calendar)",
        "due_unknown": "cannot be computed",
        "s_env": "5. Place, configurations and environment",
        "location": "Place of testing",
        "configs": "Configurations tested",
        "config": "Configuration",
        "config_what": "Description",
        "stands_for": "Declared models it stands for",
        "declared_hw": "Declared hardware",
        "yes": "yes",
        "no_": "no",
        "deploy_state": "Deployment",
        "host": "Lab host",
        "tools": "Tools and versions",
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
        "scope_run": "test run {id}",
        "scope_sample": "sample {id} (all its runs)",
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
        "s_results": "8. Results (requirements of the test basis)",
        "results_note": "Each result names the configuration it was obtained on (see section 5).",
        "no": "No.",
        "requirement": "Requirement",
        "method": "Method",
        "observed": "Observed result",
        "verdict": "Verdict",
        "severity": "Severity",
        "evidence": "Evidence",
        "retained_count": "{n} more evidence files ({kinds}) kept by the laboratory; see the manifest",
        "recorded_by": "recorded by engineer {engineer}, {time}",
        "record_reference": "reviewed: {ref}",
        "record_no_evidence": "no evidence: {reason}",
        "deviation_mark": " (deviation: {text})",
        "opinion_mark": "see opinion {n} in section 11",
        "s_functional": "9. Functional tests (use cases and API conformance)",
        "functional_note": "Functional tests follow the sample's user and interface documentation; they are not "
        "requirements of the test basis, are counted apart and are not part of the conclusion.",
        "use_case": "Use case",
        "use_case_title": "Title",
        "basis_col": "Basis",
        "s_models": "10. Results per configuration",
        "models_note": "This table counts checks per configuration (one check run once on one configuration), "
        "not test items as the conclusion does.",
        "checks_unit": "checks",
        "models_agree": "Every item has the same verdict on each configuration tested.",
        "models_differ": "These items have different verdicts on the configurations tested:",
        "s_opinions": "11. Opinions and interpretations",
        "opinions_note": "The following are the laboratory's opinions and hints. They are not test results and do "
        "not affect any verdict or the conclusion (CNAS-CL01 7.8.7).",
        "no_opinions": "None.",
        "opinion_on": "{item} ({config})",
        "s_conclusion": "12. Conclusion",
        "summary": "Test items",
        "functional_summary": "Functional tests",
        "s_manifest": "13. Evidence manifest",
        "manifest_text": "{n} evidence files travel with the report (personal financial information in text "
        "evidence masked by the laboratory's rule, passwords removed); manifest digest (SHA-256):",
        "manifest_retained": "The following {n} evidence files (screenshots, packet captures) may hold unmasked "
        "personal data and are kept by the laboratory; only their digests are listed:",
        "path": "File",
        "s_signatures": "Signatures",
        "prepared": "Prepared by",
        "reviewed": "Reviewed by",
        "approved": "Approved by",
        "signed_at": "Date",
        "unsigned": "(not signed)",
        "lab_missing": "(laboratory not configured)",
    },
}

# Shown in the English rendering where a text was recorded in Chinese only.
MISSING_EN = "[No English text was recorded for this; see the Chinese report.]"

# Verdicts, severities and the spec's enumerations as each language states them.
VALUES: dict[str, dict[str, str]] = {
    "zh": {
        "software": "软件",
        "image": "镜像",
        "package": "安装包",
        "source": "源代码",
        "build-context": "构建目录",
        "document": "文档",
        "other": "其他",
        "process": "进程",
        "container": "容器",
        "terminal": "终端",
        "screenshot": "截图",
        "pcap": "抓包",
        "figure": "图",
        "pass": "符合",
        "fail": "不符合",
        "error": "检测异常",
        "not_applicable": "不适用",
    },
    "en": {
        "符合": "Conforms",
        "不符合": "Does not conform",
        "不适用": "Not applicable",
        "待判定": "Pending",
        "检测异常": "Lab error",
        "豁免": "Waived",
        "严重": "Critical",
        "一般": "Major",
        "建议": "Minor",
        "build-context": "build context",
        "screenshot": "screenshots",
        "pcap": "packet captures",
        "pass": "pass",
        "fail": "fail",
        "error": "lab error",
        "not_applicable": "not applicable",
    },
}

# Fixed statements of the content model, both languages (the JSON carries them, so a report
# rendered years later says what it said when it was issued).
TEXTS: dict[str, dict[str, str]] = {
    "title": {"zh": LABELS["zh"]["title"], "en": LABELS["en"]["title"]},
    "title_supplementary": {"zh": LABELS["zh"]["title_supplementary"], "en": LABELS["en"]["title_supplementary"]},
    "statement": {
        "zh": "本报告检测结果仅对所检样品有效。未经本实验室书面批准，不得部分复制本报告。",
        "en": "The results in this report apply only to the sample tested. This report shall not be reproduced "
        "except in full without the written approval of the laboratory.",
    },
    # CNAS-CL01 7.8.2.1 p: results that depend on information the applicant supplied.
    "applicant_information": {
        "zh": "委托方及生产者信息、样品名称与版本、声明的硬件清单、测试账户，以及据以判定的声明参数"
        "（如会话空闲超时、登录失败锁定阈值、交易限额、个人信息屏蔽规则、TLS 最低版本、响应时间指标）"
        "由委托方提供。依据这些信息所作的判定，其有效性取决于所提供信息的准确性；"
        "本实验室对委托方提供的信息不承担责任。",
        "en": "The client and producer details, the sample's name and version, the declared hardware list, the "
        "test accounts and the declared parameters the verdicts rely on (session idle timeout, login lockout "
        "threshold, transaction limits, masking rules, minimum TLS version, response-time targets) were supplied "
        "by the client. Verdicts based on them are valid only as far as that information is accurate; the "
        "laboratory is not responsible for information supplied by the client.",
    },
    "decision_rule": {
        "zh": (
            "判定规则：逐项依据检测依据中的要求判定。自动化检查项在每个检测配置上均通过方判为“符合”，"
            "任一配置上不通过即判为“不符合”；因实验室原因未能完成的检查项记为“检测异常”，不作符合性判定，须复测；"
            "文档审查及半自动项由检测工程师依据证据记录判定。经批准豁免的条款判为“豁免”，不视为符合；"
            "偏离检测方法的条款在结果中注明偏离。不考虑测量不确定度（定性判定）。"
        ),
        "en": (
            "Decision rule: each item is judged against the requirement of the test basis. An automated item "
            "conforms only when it passes on every configuration tested and does not conform when it fails on any; "
            "an item the laboratory could not complete is a lab error, not judged, and must be retested; "
            "document-review and semi-automated items are judged by the test engineer on recorded evidence. A "
            "clause under an approved waiver is reported as waived, never as conforming; a deviation from the "
            "test method is stated with the item. Measurement uncertainty is not considered (qualitative "
            "judgement)."
        ),
    },
    "basis_note": {
        "zh": "章节编号已依据公开目录核实；章内子条款编号未公开，表中条款为本实验室检测细则编号，待依据正式文本核对。",
        "en": "Chapter numbers are verified against the public table of contents; sub-clause numbers are not public, "
        "the clause IDs are the laboratory's test-procedure IDs, to be checked against the licensed text.",
    },
    # CNAS-CL01 7.8.2.1 j: how the sample was supplied (a type test: submitted, not drawn by the lab).
    "supply_submitted": {
        "zh": "样品由委托方送样，实验室未进行抽样；检测结果仅对所送样品有效。",
        "en": "The sample was submitted by the client; the laboratory did not draw it. The results apply only to "
        "the sample as submitted.",
    },
    "supply_surveillance": {
        "zh": "样品为获证后监督检测所取样品，按认证机构的监督抽样安排取得。",
        "en": "The sample was drawn for post-certification surveillance as the certification body arranged.",
    },
}


def labels(language: str) -> dict[str, str]:
    return LABELS[language]


def text_of(key: str) -> Text:
    t = TEXTS[key]
    return {"zh": t.get("zh"), "en": t.get("en")}


def value(text: Any, language: str) -> str:
    """A verdict, severity or enumeration value as the rendering language states it."""
    s = "" if text is None else str(text)
    return VALUES[language].get(s, s)


def pick(text: Any, language: str) -> str:
    """The rendering language's side of a ``{"zh", "en"}`` text; a plain string as it is; an English
    text that was never recorded as the visible MISSING_EN marker."""
    if isinstance(text, dict) and ("zh" in text or "en" in text):
        got = text.get(language)
        if got is None and language == "en":
            return MISSING_EN
        return "" if got is None else str(got)
    return "" if text is None else str(text)


def calendar_gap_text(e: Exception) -> Text:
    year = str(getattr(e, "year", "") or "")
    return {"zh": f"{year} 年节假日数据缺失（实验室日历未覆盖）", "en": f"no calendar data for {year}"}


def check_language(language: str) -> str:
    if language not in LANGUAGES:
        raise ReportError(f"language {language!r}: the report is written in {' or '.join(LANGUAGES)}")
    return language
