"""Reading the sample's OpenAPI document for the conformance run: local ``$ref`` resolution, references
that leave the document's folder, and binding a document's operation to the declared one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.drivers import OperationInfo


def norm_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0]).rstrip("/") or "/"


def path_roles(doc_path: str, spec_path: str) -> dict[str, str]:
    """Path parameters by position: ``/v2/wallets/{walletNo}`` against ``/v2/wallets/{account_id}``."""
    roles: dict[str, str] = {}
    for a, b in zip(doc_path.strip("/").split("/"), spec_path.split("?")[0].strip("/").split("/"), strict=False):
        if a.startswith("{") and a.endswith("}") and b.startswith("{") and b.endswith("}"):
            roles[a[1:-1]] = b[1:-1]
    return roles


class Resolver:
    """Local $ref resolution in the OpenAPI document (enough to validate one property)."""

    def __init__(self, doc: dict[str, Any]):
        self.doc = doc

    def resolve(self, node: Any, depth: int = 0) -> Any:
        if depth > 30:
            return node
        if isinstance(node, dict):
            if "$ref" in node and isinstance(node["$ref"], str) and node["$ref"].startswith("#/"):
                target: Any = self.doc
                for part in node["$ref"][2:].split("/"):
                    target = target[part.replace("~1", "/").replace("~0", "~")]
                return self.resolve(target, depth + 1)
            return {k: self.resolve(v, depth + 1) for k, v in node.items()}
        if isinstance(node, list):
            return [self.resolve(v, depth + 1) for v in node]
        return node


@dataclass
class Bound:
    """An OpenAPI operation and the declared operation it is (method + path template)."""

    name: str | None
    op: OperationInfo | None
    body_props: dict[str, Any]
    path_params: dict[str, Any]


def outside_references(doc: Any, folder: Path) -> list[str]:
    """``$ref`` and ``externalValue`` targets outside the document and its folder: a URL (any
    scheme), an absolute path, or a relative path leaving the folder."""
    found: list[str] = []
    root = folder.resolve()

    def outside(ref: str) -> bool:
        if ref.startswith("#"):
            return False
        target = ref.split("#", 1)[0]
        if urlsplit(target).scheme or target.startswith(("//", "/", "\\")):
            return True
        return not (root / target).resolve().is_relative_to(root)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in ("$ref", "externalValue") and isinstance(value, str) and outside(value):
                    found.append(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(doc)
    return list(dict.fromkeys(found))
