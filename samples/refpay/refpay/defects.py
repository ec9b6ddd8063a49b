"""Catalogue of planted defects selectable with ``serve --defects``.

Each defect is independent and minimal so a harness check can be calibrated
against exactly one weakness. Keep in sync with ../defects.yaml.
"""

from __future__ import annotations

DEFECTS: dict[str, str] = {
    "replay": "nonce check skipped; replayed signed transfer accepted",
    "unmasked-card": "account API returns the full card number",
    "weak-tls": "TLS 1.0/1.1 accepted with SECLEVEL=0 ciphers",
    "no-lockout": "login lockout never triggers",
    "user-enumeration": "unknown user gets 404 instead of the generic 401",
    "timing-enumeration": "unknown user names skip the password hash: the login answers them much faster",
    "idor": "any logged-in user can read any account and its transactions",
    "negative-amount": "amounts <= 0 accepted",
    "no-limit": "per-transaction and daily limits not enforced",
    "race": "balance check and debit not atomic; parallel transfers overdraw",
    "weak-jwt": "JWT secret is 'secret' and alg=none tokens are accepted",
    "no-session-expiry": "idle session timeout not enforced",
    "logout-no-revoke": "logout does not revoke the session",
    "log-leak": "log contains full card number and typed password",
    "weak-password-hash": "passwords stored as unsalted MD5",
    "no-security-headers": "HSTS and other security headers missing",
    "stack-trace": "500 responses include the Python traceback",
    "sqli": "login query built by string formatting (SQL injection)",
    "sqli-lookup": "account lookup by the URL's account number built by string formatting (SQL injection)",
    "tamper": "transfer signature covers only nonce and timestamp",
    "history-missing": "newest completed transfer missing from history",
    "server-error": "over-precision amount (0.001) answers 500 instead of 400",
    "weak-ciphers": "TLS 1.2 also offers RSA key exchange suites (no forward secrecy)",
    "debug-port": "an undeclared plain-HTTP debug server listens beside the API",
    "cleartext-audit": "login/transfer audit records with full card and ID numbers sent as plain UDP syslog",
    "redos": "payee account number checked with a nested-quantifier regex (catastrophic backtracking)",
    "no-rate-limit": "failed logins from one client are never throttled",
    "overexposure": "account API answer also carries the password hash and internal flags (failed_logins, locked)",
    "ack-before-write": "transfers commit to an in-memory copy and are answered; the copy reaches disk every 60 s",
    "slow-path": "account reads fall back to a 3 s degraded path while more than 2 API requests are in progress",
    "slow-restart": "after an unclean stop the service scans its data for 40 s before it opens its port",
    "csrf": "cookie-authenticated state-changing requests are accepted without the X-CSRF-Token header",
    "mass-assignment": "profile update also copies a body-supplied balance onto the account",
    "password-change-no-proof": "password change does not verify the current password",
    "reset-code-in-answer": "the password-reset request's answer carries the SMS code",
}


def parse_defects(raw: str | None) -> frozenset[str]:
    """Parse a comma-separated list; raise ValueError naming unknown ids."""
    if not raw:
        return frozenset()
    ids = {part.strip() for part in raw.split(",") if part.strip()}
    unknown = sorted(ids - DEFECTS.keys())
    if unknown:
        raise ValueError(f"unknown defect id(s): {', '.join(unknown)}; known: {', '.join(sorted(DEFECTS))}")
    return frozenset(ids)
