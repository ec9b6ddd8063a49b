"""What every part of the report room shares: the words a report states an item's verdict in, its
error type, the ``{"zh", "en"}`` text, and the canonical JSON its digests are taken over."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from harness.errors import InputError, LabError
from harness.results.content import Text

# Item verdicts as the report states them.
CONFORM, NONCONFORM, NOT_APPLICABLE, PENDING, LAB_ERROR = "符合", "不符合", "不适用", "待判定", "检测异常"
WAIVED = "豁免"  # an approved waiver: never a pass
VERDICTS = (CONFORM, NONCONFORM, NOT_APPLICABLE, WAIVED, PENDING, LAB_ERROR)


class ReportError(InputError):
    """A report step refused: the text names what is wrong (exit 2)."""


class RecordBroken(LabError):
    """The run's lab record does not verify (a verdict or evidence file changed after it was
    recorded): no report is built on it (exit 3)."""


def tx(zh: str, en: str | None) -> Text:
    return {"zh": zh, "en": en}


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str).encode()


def digest(content: dict[str, Any]) -> str:
    """The SHA-256 of a report content's JSON truth (the lab record stores it beside the content)."""
    return hashlib.sha256(canonical_json(content)).hexdigest()
