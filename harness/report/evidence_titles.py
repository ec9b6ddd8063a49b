"""Evidence titles in English: a check names its evidence in Chinese (it is the Chinese report's
wording); the English rendering names it by these prefixes, or by its kind."""

from __future__ import annotations

# Evidence titles the checks give (Chinese), by prefix, for the English rendering; a title not listed
# shows as its kind ("JSON evidence"). The remainder after a prefix is kept when it is ASCII (a port
# name, an operation).
EVIDENCE_TITLES_EN: list[tuple[str, str]] = [
    ("HTTP 交互记录", "HTTP transcript"),
    ("失败详情", "failure detail"),
    ("场景步骤记录", "scenario step transcript"),
    ("截图", "screenshot"),
    ("sslyze 扫描结果", "sslyze scan"),
    ("密码套件判定", "cipher suite judgement"),
    ("证书链", "certificate chain"),
    ("证书判定", "certificate judgement"),
    ("Bandit 报告", "Bandit report"),
    ("源代码审查结论", "source review findings"),
    ("明文检索结果", "cleartext search"),
    ("抓包", "packet capture"),
    ("畸形请求与应答判定", "malformed requests and answers"),
    ("监听端口", "listening ports"),
    ("国密握手探测", "national-algorithm handshake probe"),
    ("日志检查结果", "log search findings (masked)"),
    ("页面文本", "page text (masked)"),
    ("页面检查结果", "page findings"),
    ("口令输入框", "password input"),
    ("口令缓存检查", "password caching check"),
    ("浏览器被拦截的范围外请求", "out-of-scope requests blocked"),
    ("网页登录后页面", "page after web login"),
    ("登录页", "login page"),
    ("接口一致性检查概况", "API conformance overview"),
    ("接口一致性请求记录", "API conformance request log"),
    ("问题", "finding "),
    ("响应时间测量", "response-time measurements"),
    ("会话空闲计时", "session idle timing"),
    ("伪造凭证尝试", "forged credential attempts"),
    ("单笔限额判定", "single-transfer limit judgement"),
    ("日累计限额", "daily limit"),
    ("并发转账", "concurrent transfers"),
    ("签名篡改尝试", "signature tampering attempts"),
    ("非法金额转账", "transfers of invalid amounts"),
    ("退出登录判定", "logout judgement"),
    ("登录失败应答对比", "failed-login answers compared"),
    ("登录限速", "login rate limiting"),
    ("口令修改与重置尝试", "password change and reset attempts"),
    ("未恢复的账户口令", "account passwords not restored"),
    ("越权访问尝试", "cross-account access attempts"),
    ("跨站请求伪造尝试", "cross-site request forgery attempts"),
    ("未声明字段赋值尝试", "undeclared-field assignment attempts"),
    ("应答最小化检查结果", "answer minimisation findings"),
    ("存储检查结果", "storage findings (masked)"),
    ("注入判定", "injection judgement"),
    ("构造输入与对照请求", "crafted inputs and control requests"),
    ("服务水平测量", "service-level measurements"),
    ("负载原始样本", "raw load samples"),
    ("演练负载原始样本", "raw load samples of the drill"),
    ("响应时间分布", "response-time distribution"),
    ("崩溃演练时间线", "crash drill timeline"),
    ("恢复后读回的交易记录", "transactions read back after recovery"),
    ("范围守卫拒绝记录", "scope guard refusals"),
]
KIND_EN = {
    "transcript": "transcript",
    "json": "JSON evidence",
    "text": "text evidence",
    "screenshot": "screenshot",
    "pcap": "packet capture",
    "certificate": "certificate",
    "figure": "figure",
    "log": "log excerpt",
    "record": "engineer's evidence",
}


def evidence_title_en(title: str, kind: str) -> str:
    for zh, en in EVIDENCE_TITLES_EN:
        if title.startswith(zh):
            rest = title[len(zh) :].strip(" ：:-（）")
            return f"{en} {rest}".strip() if rest.isascii() else en
    return title if title.isascii() else KIND_EN.get(kind, "evidence")
