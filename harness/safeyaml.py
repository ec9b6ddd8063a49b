"""YAML from outside the lab (specs, an applicant's OpenAPI document), read without surprises.

- Scalars follow YAML 1.2's core schema, not PyYAML's YAML 1.1: ``1:20`` stays text (1.1 reads it
  as the base-60 number 80), ``yes``/``on`` stay text, ``012`` is twelve, dates stay text.
- Bounded: nesting depth, and the number of values once aliases are expanded (an alias bomb is
  refused while it is read, never expanded), and a collection that contains itself is refused.
- A key given twice in one mapping is an error naming both lines, not "the last one wins".
- Bytes are decoded as UTF-8, or as GBK (common in a Chinese lab) when they are not UTF-8;
  UTF-16, NUL bytes and anything else are one clear line.

Events come from libyaml when it is there (fast, and iterative, so depth is checked before anything
recursive sees the document); the node graph is built here, so limits hold while it grows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.resolver import BaseResolver

from harness.errors import InputError

MAX_DEPTH = 64
MAX_VALUES = 100_000  # a complete spec has about 600


@dataclass(frozen=True)
class YamlProblem:
    line: int  # 1-based
    field: str  # the field path where it was found, or what the problem is about
    message: str


class YamlError(InputError):
    def __init__(self, problems: list[YamlProblem]):
        self.problems = problems
        super().__init__("\n".join(f"{p.line}: {p.field}: {p.message}" for p in problems))


def _one(line: int, field: str, message: str) -> YamlError:
    return YamlError([YamlProblem(line, field, message)])


_BOMS = {
    b"\xff\xfe\x00\x00": "UTF-32",
    b"\x00\x00\xfe\xff": "UTF-32",
    b"\xff\xfe": "UTF-16",
    b"\xfe\xff": "UTF-16",
}


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding): UTF-8 (with or without a byte-order mark), else GBK; anything else is a
    YamlError saying what the bytes look like."""
    for bom, name in _BOMS.items():
        if data.startswith(bom):
            raise _one(1, "encoding", f"the file is {name} text: save it as UTF-8 (or GBK)")
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise _one(line, "encoding", "the file contains NUL bytes: it is UTF-16 or binary, not UTF-8 (or GBK) text")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError as e:
        utf8_error = e
    try:
        return data.decode("gbk"), "GBK"
    except UnicodeDecodeError:
        pass
    pos = utf8_error.start
    line = data.count(b"\n", 0, pos) + 1
    raise _one(line, "encoding", f"the file is neither UTF-8 nor GBK text (byte 0x{data[pos]:02x}): save it as UTF-8")


class _Core12Resolver(BaseResolver):
    """Implicit tags of YAML 1.2's core schema."""


_Core12Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Core12Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Core12Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_Core12Resolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
_Core12Resolver.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


class _Constructor(SafeConstructor):
    def construct_yaml_int(self, node: ScalarNode) -> int:
        value = str(self.construct_scalar(node))
        if value.startswith("0o"):
            return int(value[2:], 8)
        if value.startswith("0x"):
            return int(value[2:], 16)
        return int(value, 10)  # 012 is twelve (YAML 1.1 read it as octal ten)


_Constructor.add_constructor("tag:yaml.org,2002:int", _Constructor.construct_yaml_int)  # type: ignore[type-var]

_EventLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class _Frame:
    node: SequenceNode | MappingNode
    path: str
    anchor: str | None
    key: Node | None = None  # a mapping's key waiting for its value


def _child_path(frame: _Frame | None) -> str:
    if frame is None:
        return ""
    if isinstance(frame.node, SequenceNode):
        return f"{frame.path}[{len(frame.node.value)}]"
    if frame.key is not None and isinstance(frame.key, ScalarNode):
        return f"{frame.path}.{frame.key.value}" if frame.path else str(frame.key.value)
    return frame.path


def _label(path: str) -> str:
    if len(path) > 80:  # a deeply nested path says where it starts and ends
        return f"{path[:40]}...{path[-30:]}"
    return path or "(top level)"


def compose(text: str, max_values: int = MAX_VALUES) -> Node | None:
    """The node graph of a one-document YAML text, within the limits, or a YamlError."""
    resolver = _Core12Resolver()
    stack: list[_Frame] = []
    anchors: dict[str, tuple[Node, int]] = {}
    open_anchors: set[str] = set()
    sizes: list[int] = []  # running expanded size of each open collection
    duplicates: list[YamlProblem] = []
    root: Node | None = None
    documents = 0
    values = 0

    def count(n: int, node: Node) -> None:
        nonlocal values
        values += n
        if values > max_values:
            raise _one(
                node.start_mark.line + 1,
                _label(_child_path(stack[-1] if stack else None)),
                f"expands to more than {max_values:,} values (aliases repeating a large block?)",
            )

    def attach(node: Node, size: int) -> None:
        """Put a finished node (of ``size`` values once expanded) into its parent."""
        nonlocal root
        if sizes:
            sizes[-1] += size
        if not stack:
            root = node
            return
        top = stack[-1]
        if isinstance(top.node, SequenceNode):
            top.node.value.append(node)
        elif top.key is None:
            top.key = node
        else:
            top.node.value.append((top.key, node))
            top.key = None

    try:
        for ev in yaml.parse(text, Loader=_EventLoader):
            line = ev.start_mark.line + 1 if ev.start_mark else 1
            if isinstance(ev, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _one(line, "yaml", "more than one YAML document (---) in the file")
            elif isinstance(ev, yaml.AliasEvent):
                if ev.anchor in open_anchors:
                    raise _one(line, _label(_child_path(stack[-1] if stack else None)),
                               f"the alias *{ev.anchor} refers to a collection that contains it")  # fmt: skip
                if ev.anchor not in anchors:
                    raise _one(line, _label(_child_path(stack[-1] if stack else None)),
                               f"the alias *{ev.anchor} has no anchor &{ev.anchor} before it")  # fmt: skip
                node, size = anchors[ev.anchor]
                count(size, node)
                attach(node, size)
            elif isinstance(ev, yaml.ScalarEvent):
                _check_tag(ev, stack)
                tag = ev.tag
                if tag == "!":  # the non-specific tag: the scalar is text
                    tag = "tag:yaml.org,2002:str"
                elif tag is None:
                    tag = resolver.resolve(ScalarNode, ev.value, ev.implicit)
                node = ScalarNode(tag, ev.value, ev.start_mark, ev.end_mark, style=ev.style)  # type: ignore[arg-type]
                if ev.anchor:
                    anchors[ev.anchor] = (node, 1)
                count(1, node)
                attach(node, 1)
            elif isinstance(ev, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                if len(stack) >= MAX_DEPTH:
                    raise _one(line, _label(_child_path(stack[-1])), f"nested deeper than {MAX_DEPTH} levels")
                _check_tag(ev, stack)
                is_seq = isinstance(ev, yaml.SequenceStartEvent)
                kind: Any = SequenceNode if is_seq else MappingNode
                tag = ev.tag
                if tag is None or tag == "!":
                    tag = resolver.resolve(kind, None, ev.implicit)
                coll = kind(tag, [], ev.start_mark, None, flow_style=ev.flow_style)
                path = _child_path(stack[-1] if stack else None)
                count(1, coll)
                stack.append(_Frame(coll, path, ev.anchor))
                sizes.append(1)
                if ev.anchor:
                    open_anchors.add(ev.anchor)
            elif isinstance(ev, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                frame = stack.pop()
                size = sizes.pop()
                frame.node.end_mark = ev.end_mark
                if isinstance(frame.node, MappingNode):
                    duplicates += _duplicate_keys(frame.node, frame.path)
                if frame.anchor:
                    open_anchors.discard(frame.anchor)
                    anchors[frame.anchor] = (frame.node, size)
                attach(frame.node, size)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        where = _label(_child_path(stack[-1] if stack else None))
        raise _one(mark.line + 1 if mark else 1, where, f"not valid YAML: {e.problem or e.context}") from None
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, max(0, e.position)) + 1
        raise _one(line, "encoding", f"a character YAML does not allow (#x{e.character:04x}) in the file") from None
    except yaml.YAMLError as e:
        raise _one(1, "yaml", f"not valid YAML: {e}") from None
    if duplicates:
        raise YamlError(duplicates)
    return root


# Explicit tags a document may use: the core schema's. Others (!!binary, !!set, !!timestamp,
# !!python/...) have no meaning in a spec and only make a value something other than what it reads.
_CORE_TAGS = frozenset(f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map"))


def _check_tag(ev: Any, stack: list[_Frame]) -> None:
    if ev.tag is not None and ev.tag != "!" and ev.tag not in _CORE_TAGS:
        where = _label(_child_path(stack[-1] if stack else None))
        tag = str(ev.tag).replace("tag:yaml.org,2002:", "!!")
        raise _one(ev.start_mark.line + 1, where, f"the tag {tag} is not allowed (only plain YAML values)")


def _duplicate_keys(node: MappingNode, path: str) -> list[YamlProblem]:
    seen: dict[tuple[str, str], int] = {}
    out = []
    for k, _ in node.value:
        if not isinstance(k, ScalarNode) or k.tag == "tag:yaml.org,2002:merge":
            continue
        line = k.start_mark.line + 1
        key = (k.tag, k.value)
        if key in seen:
            field = f"{path}.{k.value}" if path else str(k.value)
            out.append(YamlProblem(line, field, f"given twice, at lines {seen[key]} and {line}: keep one"))
        else:
            seen[key] = line
    return out


def construct(node: Node | None) -> Any:
    """The Python value of a composed document (None for an empty one)."""
    if node is None:
        return None
    try:
        return _Constructor().construct_document(node)
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        raise _one(mark.line + 1 if mark else 1, "yaml", f"cannot be read: {e.problem or e.context}") from None
    except (ValueError, TypeError) as e:  # e.g. an int constructor fed something odd
        raise _one(node.start_mark.line + 1, "yaml", f"cannot be read: {e}") from None


def load(text: str, max_values: int = MAX_VALUES) -> tuple[Any, Node | None]:
    """(value, node graph) of a one-document YAML text."""
    node = compose(text, max_values)
    return construct(node), node
