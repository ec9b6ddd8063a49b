"""What a session's cookies are, for the cross-site request forgery check (5.txn.csrf): their names
and the attributes that decide what a browser does with them (HttpOnly, Secure, SameSite). SameSite
is recorded, not credited: it is defence in depth that depends on the browser, while the requirement
asks the product to check an anti-CSRF token or the request's origin."""

from __future__ import annotations

from http.cookiejar import Cookie

from harness.drivers import DriverSession


def _cookies(session: DriverSession) -> list[Cookie]:
    if session.http is not None:
        return [c for c in session.http.cookies if isinstance(c, Cookie)]
    return []


def cookie_names(session: DriverSession) -> list[str]:
    """The cookies the session's login set (or its frozen jar holds)."""
    names = [c.name for c in _cookies(session)]
    names += [n for n in (session.jar or {}) if n not in names]
    return list(dict.fromkeys(names))


def cookie_description(session: DriverSession) -> tuple[str, str]:
    """``name（HttpOnly，Secure，SameSite=Lax）`` for each cookie, in Chinese and English; values
    are never shown."""
    zh, en = [], []
    for c in _cookies(session):
        attrs = [a for a, on in (("HttpOnly", _flag(c, "HttpOnly")), ("Secure", c.secure)) if on]
        same = c.get_nonstandard_attr("SameSite") or c.get_nonstandard_attr("samesite")
        zh.append(f"{c.name}（{'，'.join([*attrs, f'SameSite={same}' if same else '未设 SameSite'])}）")
        en.append(f"{c.name} ({', '.join([*attrs, f'SameSite={same}' if same else 'no SameSite'])})")
    for name in session.jar or {}:
        if all(c.name != name for c in _cookies(session)):
            zh.append(name)
            en.append(name)
    return "；".join(dict.fromkeys(zh)), "; ".join(dict.fromkeys(en))


def _flag(c: Cookie, name: str) -> bool:
    return any(c.has_nonstandard_attr(n) for n in (name, name.lower()))
