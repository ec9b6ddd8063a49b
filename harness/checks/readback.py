"""Whether a request changed something, judged by reading the product back through its own declared
reads, never by the request's status code.

- ``call_fields``: the call fields a check sends to a state-changing operation: the object kind's
  declared ``fields`` (``{random}`` new for each request, so two writes can be told apart), or
  fresh markers for the inputs the session's own values do not fill;
- ``reads_for``: the reads that show what an operation changes: its object kind's read (or list),
  else every authenticated, safe read the session's own values fill;
- ``Snapshot``: what those reads answered, compared before and after, with reads whose answers
  change on their own (timestamps, counters) set aside by reading twice first.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from harness.drivers import DriverError, DriverSession
from harness.spec.model import ObjectKind
from harness.templating import TemplateError, render


def marker() -> str:
    """A value no product holds by chance: what a check writes to find it again."""
    return "lab" + secrets.token_hex(4)


def object_of(driver: Any, operation: str) -> tuple[str, ObjectKind] | None:
    """The declared object kind an operation belongs to (as its create, update, delete or action)."""
    for kind, obj in driver.objects().items():
        if operation in (obj.create, obj.update, obj.delete, *obj.actions):
            return kind, obj
    return None


def session_values(session: DriverSession) -> dict[str, Any]:
    values: dict[str, Any] = dict(session.account.known())
    values.update({k: v for k, v in session.values.items() if v is not None})
    return values


def object_fields(obj: ObjectKind, session: DriverSession) -> tuple[dict[str, Any], list[str]]:
    """The object kind's declared call fields for this session, and the values ``{random}`` made
    (what a read-back can recognise as this very request's)."""
    values = session_values(session)
    out: dict[str, Any] = {}
    fresh: list[str] = []
    for name, template in obj.fields.items():
        token = marker()
        try:
            text = render(template, {**values, "random": token})
        except (TemplateError, ValueError, IndexError) as e:
            raise DriverError(f"objects: field {name!r}: {e}") from None
        out[name] = text
        if "{random}" in template:
            fresh.append(text)
    return out, fresh


def call_fields(driver: Any, operation: str, session: DriverSession) -> tuple[dict[str, Any], list[str]]:
    """Call fields for one request of a state-changing operation and the values that mark it: the
    object kind's declared fields, and a fresh marker for every other input the session's values
    do not fill (a product refusing such a value makes the operation one the check cannot drive)."""
    info = driver.info(operation)
    owner = object_of(driver, operation)
    fields: dict[str, Any] = {}
    marks: list[str] = []
    if owner is not None:
        fields, marks = object_fields(owner[1], session)
    known = session_values(session)
    for name in info.inputs:
        if name not in fields and name not in known:
            fields[name] = marker()
            marks.append(str(fields[name]))
    return fields, marks


@dataclass(frozen=True)
class Read:
    operation: str
    fields: dict[str, Any] = field(default_factory=dict)

    def label(self) -> str:
        return self.operation


def reads_for(driver: Any, operation: str, session: DriverSession, object_id: Any = None) -> list[Read]:
    """The reads that show the effect of ``operation`` for this session: its object kind's read of
    that object (and the kind's list), else every authenticated, safe read the session's own
    values fill. Reads that cannot be prepared are left out."""
    owner = object_of(driver, operation)
    out: list[Read] = []
    if owner is not None:
        _, obj = owner
        key = {obj.id: object_id} if object_id not in (None, "") else {}
        if obj.read:
            out.append(Read(obj.read, key))
        if obj.listing:
            out.append(Read(obj.listing))
        out = [r for r in out if _preparable(driver, r, session)]
        if out:
            return out
    return account_reads(driver, session)


def account_reads(driver: Any, session: DriverSession) -> list[Read]:
    """Every authenticated, safe read the session's own values fill (the account's own answers)."""
    out = []
    for name, info in driver.operations().items():
        if info.kind == "read" and info.auth and not info.unsafe:
            r = Read(name)
            if _preparable(driver, r, session):
                out.append(r)
    return out


def _preparable(driver: Any, read: Read, session: DriverSession) -> bool:
    try:
        driver.prepare(read.operation, session, **read.fields)
    except DriverError:
        return False
    return True


def answer_text(resp: requests.Response) -> str:
    try:
        return json.dumps(resp.json(), ensure_ascii=False, sort_keys=True)
    except ValueError:
        return resp.text


@dataclass
class Snapshot:
    """What the reads answered at one moment (operation -> answer text), and which answered."""

    texts: dict[str, str]
    answers: dict[str, requests.Response]
    ok: dict[str, bool]

    def shows(self, value: str) -> list[str]:
        return [name for name, text in self.texts.items() if self.ok[name] and value in text]

    def changed_from(self, before: Snapshot, noisy: Iterable[str] = ()) -> list[str]:
        skip = set(noisy)
        return [
            name
            for name, text in self.texts.items()
            if name not in skip
            and name in before.texts
            and (text != before.texts[name] or self.ok[name] != before.ok[name])
        ]


def snapshot(driver: Any, session: DriverSession, reads: list[Read], note: str) -> Snapshot:
    texts, answers, ok = {}, {}, {}
    for r in reads:
        resp = driver.send(driver.prepare(r.operation, session, **r.fields), session, note=f"{note}：{r.label()}")
        texts[r.operation] = answer_text(resp)
        answers[r.operation] = resp
        ok[r.operation] = bool(driver.succeeded(r.operation, resp))
    return Snapshot(texts, answers, ok)
