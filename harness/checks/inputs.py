"""Filling a declared operation's inputs, for the probes that replace one input at a time (injection,
crafted input, malformed values): the genuine values a session supplies by itself, ordinary values
for the rest, where each input lands in the request (path, query, body, header), and how a probe
value must be written there so the product receives it as sent.

Everything goes through the driver protocol: an input's place is found by preparing the request
with a marker in it and looking where the marker went, so a Python driver is served as well as the
REST driver."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from harness.drivers import Call, DriverError, DriverSession
from harness.spec.model import Account

# The suites' own call vocabulary (not any product's): a transfer's paying account is the session's
# account number, its payee is named by ``to_*`` values and its amount by ``amount``.
_PAYER = "from_account"


def session_values(session: DriverSession | None) -> dict[str, str]:
    """The values a session fills by itself, by input name: the account's declared values and what
    its login or provisioning captured (the genuine value of such an input)."""
    if session is None:
        return {}
    acct = session.account
    out = {k: str(v) for k, v in acct.known().items()}
    out.update({k: str(v) for k, v in session.values.items() if isinstance(v, str | int | Decimal) and k != "token"})
    if acct.account_id:
        out.setdefault("account_id", acct.account_id)
        out.setdefault(_PAYER, acct.account_id)
    return out


def ordinary_values(
    inputs: tuple[str, ...], session: DriverSession | None, payee: Account | None, amount: Decimal
) -> dict[str, Any]:
    """Values for the inputs the session does not supply: the payee's (``to_*``), the smallest
    amount, and "1" for anything else (an ordinary, harmless value)."""
    own = session_values(session)
    suggested: dict[str, Any] = {"amount": amount}
    if payee is not None:
        suggested.update({f"to_{k}": v for k, v in payee.known().items() if k not in ("password", "sign_secret")})
        suggested["to_account"] = payee.account_id or payee.username or "1"
    return {f: suggested.get(f, "1") for f in inputs if f not in own}


@dataclass(frozen=True)
class Slot:
    """Where one input lands in the request the driver builds."""

    place: str  # "path" | "query" | "body" | "header" | "unseen"
    typed: bool = False  # a JSON body value that keeps its type (an object stays an object)

    @property
    def seen(self) -> bool:
        return self.place != "unseen"

    def zh(self) -> str:
        return _PLACE_ZH[self.place]


_PLACE_ZH = {"path": "路径", "query": "查询参数", "body": "请求体", "header": "请求头", "unseen": "未出现"}


def _holds(obj: Any, found: Any) -> bool:
    """Whether ``found(x)`` holds for ``obj`` or anything inside it (JSON-like)."""
    if found(obj):
        return True
    if isinstance(obj, dict):
        return any(_holds(v, found) for v in obj.values())
    if isinstance(obj, list):
        return any(_holds(v, found) for v in obj)
    return False


def slot_of(call: Call, marker: str) -> Slot:
    """The place of ``marker`` (a text the input was given) in a prepared request."""
    if marker in unquote(urlsplit(call.url).path):
        return Slot("path")
    if any(marker in str(v) for v in call.params.values()):
        return Slot("query")
    if call.form is not None and any(marker in str(v) for v in call.form.values()):
        return Slot("body")
    if call.json is not None and _holds(call.json, lambda x: isinstance(x, str) and marker in x):
        return Slot("body")
    if any(marker in str(v) for v in call.headers.values()):
        return Slot("header")
    return Slot("unseen")


def locate(driver: Any, operation: str, session: DriverSession | None, fields: dict[str, Any], name: str) -> Slot:
    """Where input ``name`` of ``operation`` lands, and whether a JSON body keeps its type there.
    Preparing a multi-step operation sends its earlier steps: that is the driver's business."""
    marker = "hx" + secrets.token_hex(5)
    slot = slot_of(driver.prepare(operation, session, **{**fields, name: marker}), marker)
    if slot.place != "body":
        return slot
    probe = {"hx": marker}
    try:
        call = driver.prepare(operation, session, **{**fields, name: probe})
    except (DriverError, TypeError, ValueError):
        return slot
    return Slot("body", typed=call.json is not None and _holds(call.json, lambda x: x == probe))


# Characters a request line carries as they are; everything else in a path value is percent-encoded
# so that "#", "?", "/" or "%" in a probe value reach the product as part of the value.
_PATH_SAFE = "'\"()=*,;:@!&+$-_.~<>|`{}[]^\\"


def placed(slot: Slot, value: Any) -> Any:
    """``value`` as it must be given to the driver for the product to receive it unchanged."""
    if slot.place == "path" and isinstance(value, str):
        return quote(value, safe=_PATH_SAFE)
    return value


def fits(slot: Slot, value: Any) -> bool:
    """Whether a probe value can be sent in this place at all (objects only where the body keeps
    types; no line breaks in a header or the request line)."""
    if isinstance(value, dict | list):
        return slot.typed
    return not (slot.place == "header" and isinstance(value, str) and ("\n" in value or "\r" in value))
