"""Hypothesis strategies for mutated flow files: real flows (flows/, ../shared/compat/) edited as text and as data.

Text edits: truncate, delete/duplicate/swap/re-indent lines, insert YAML syntax, unicode, anchors, aliases, deep
nesting, alias bombs, invalid UTF-8. Data edits (on the parsed flow, dumped back): delete keys, swap types, insert
templates, rename keys, share subtrees (dumped as anchors and aliases), swap task types.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from flowrun.tasks.registry import TASKS

from .fuzz_templates import fuzz_templates

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted([*ROOT.glob("flows/*.yaml"), *(ROOT.parent / "shared" / "compat").glob("**/*.yaml")])
FLOWS: dict[str, str] = {p.name: p.read_text(encoding="utf-8") for p in SOURCES}
DEPTHS = [2, 10, 60, 200, 600, 3000]
SNIPPETS = ["{{", "{{ inputs.x }", "{{ outputs.nope.value }}", "{% if %}", "&a ", "*a", "<<: *a", "? ", "- ", ": ",
            "---\n", "...\n", "%YAML 1.1\n", "\ufeff", "'", '"', "|", ">-", "#", "[", "{", "\t", "!!binary ", "!!str ",
            "!!python/object/apply:os.system ['true'] ", "!!set ", "!!omap ", "~", "null", "yes", "0x1F", "0o17",
            "1_000", ".inf", ".nan", "2019-01-01", "12:30:00", "1e400", "99999999999999999999999", "-0", "é", "中文",
            "\U0001f600", "\u202e", "\x85", "\u2028", "\x07", "\r", "\r\n"]
VALUES: list[Any] = [None, True, 0, -1, 2**64, 1.5, float("inf"), "", "x", "{{ inputs.nope }}", "P1D", [], {},
                     [1, "a"], {"id": "t", "type": "io.kestra.plugin.core.log.Log", "message": "m"},
                     {"k": {"k": ["v"]}}]
KEYS = ["id", "namespace", "tasks", "type", "inputs", "outputs", "triggers", "variables", "errors", "finally",
        "labels", "concurrency", "pluginDefaults", "disabled", "message", "format", "defaults", "value", "then",
        "else", "cases", "values", "retry", "timeout", "allowFailure", "dependsOn", "description", "ünï"]


def alias_bomb(levels: int, width: int) -> str:
    """A 'billion laughs' document: `levels` anchors, each aliasing the previous one `width` times."""
    lines = ["a0: &a0 [lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(width))}]")
    return "\n".join(lines) + "\n"


def nested(depth: int, flow_style: bool) -> str:
    if flow_style:
        return "[" * depth + "1" + "]" * depth
    return "\n".join("  " * i + "- " for i in range(min(depth, 400))) + "x"


@st.composite
def text_edit(draw: st.DrawFn, text: str) -> str:
    lines = text.split("\n")
    i = draw(st.integers(0, max(0, len(lines) - 1)))
    op = draw(st.integers(0, 11))
    if op == 0:
        return text[: draw(st.integers(0, len(text)))]
    if op == 1:
        return "\n".join(lines[:i] + lines[i + 1:])
    if op == 2:
        return "\n".join(lines[: i + 1] + lines[i:])
    if op == 3:
        j = draw(st.integers(0, max(0, len(lines) - 1)))
        lines[i], lines[j] = lines[j], lines[i]
        return "\n".join(lines)
    if op == 4:
        lines[i] = " " * draw(st.integers(0, 6)) + lines[i].lstrip()
        return "\n".join(lines)
    if op == 5:
        pos = draw(st.integers(0, len(text)))
        return text[:pos] + draw(st.sampled_from(SNIPPETS)) + text[pos:]
    if op == 6 and ": " in lines[i]:
        key, _, _ = lines[i].partition(": ")
        value = draw(st.one_of(st.sampled_from(SNIPPETS), fuzz_templates().map(lambda t: repr(t))))
        lines[i] = f"{key}: {value}"
        return "\n".join(lines)
    if op == 7:
        depth = draw(st.sampled_from(DEPTHS))
        return text + f"\nnested: {nested(depth, flow_style=True)}\n"
    if op == 8:
        return alias_bomb(draw(st.integers(2, 10)), draw(st.integers(2, 10))) + text
    if op == 9:
        return text + draw(st.sampled_from(["\nloop: &l [*l]\n", "\nself: &s {k: *s}\n", "\nx: *undefined\n",
                                            "\nm: &m {a: 1}\nn:\n  <<: [*m, *m]\n"]))
    if op == 10:
        return text + f"\ndeep:\n{nested(draw(st.sampled_from(DEPTHS)), flow_style=False)}\n"
    return text.replace(draw(st.sampled_from(["tasks", "id", "type", ":", "-", "{{", "  "])), "", 1)


def _paths(data: Any, limit: int = 2000) -> list[tuple[Any, ...]]:
    """Paths to the nodes of `data`, breadth first; each shared or cyclic node is visited once."""
    found: list[tuple[Any, ...]] = []
    queue, seen = [((), data)], set()
    while queue and len(found) < limit:
        prefix, node = queue.pop(0)
        found.append(prefix)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            queue += [((*prefix, k), v) for k, v in node.items()]
        elif isinstance(node, list):
            queue += [((*prefix, i), v) for i, v in enumerate(node)]
    return found


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        data = data[part]
    return data


@st.composite
def data_edit(draw: st.DrawFn, data: Any) -> Any:
    paths = [p for p in _paths(data) if p]
    if not paths:
        return copy.deepcopy(draw(st.sampled_from(VALUES)))
    path = draw(st.sampled_from(paths))
    parent, last = _get(data, path[:-1]), path[-1]
    op = draw(st.integers(0, 7))
    if op == 0:
        del parent[last]
    elif op == 1:
        parent[last] = copy.deepcopy(draw(st.sampled_from(VALUES)))
    elif op == 2:
        parent[last] = draw(fuzz_templates())
    elif op == 3 and isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = parent.pop(last)
    elif op == 4:
        parent[last] = _get(data, draw(st.sampled_from(paths))[:-1]) if len(path) > 1 else parent[last]
    elif op == 5 and isinstance(parent, dict) and last == "type":
        parent[last] = draw(st.sampled_from(sorted(TASKS)))
    elif op == 6:
        value: Any = parent[last]
        for _ in range(draw(st.sampled_from(DEPTHS[:4]))):
            value = [value]
        parent[last] = value
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = copy.deepcopy(draw(st.sampled_from(VALUES)))
    return data


def _dump(data: Any, draw: st.DrawFn) -> str:
    try:
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=draw(st.booleans()), width=draw(
            st.sampled_from([80, 20, 10**6])))
    except (yaml.YAMLError, RecursionError, ValueError):  # a self-referencing list, or too deep to dump
        return yaml.safe_dump({"unprintable": True})


@st.composite
def mutated_flows(draw: st.DrawFn) -> tuple[str, bytes]:
    """(the source flow's name, the mutated file's bytes)."""
    name = draw(st.sampled_from(sorted(FLOWS)))
    text = FLOWS[name]
    if draw(st.integers(0, 3)) == 0:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError:
            data = None
        for _ in range(draw(st.integers(1, 3))):
            data = draw(data_edit(data))
        text = _dump(data, draw)
    for _ in range(draw(st.integers(0 if text != FLOWS[name] else 1, 3))):
        text = draw(text_edit(text))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 30)) == 0:
        pos = draw(st.integers(0, len(raw)))
        raw = raw[:pos] + draw(st.sampled_from([b"\xff", b"\xc3", b"\x00", b"\xed\xa0\x80"])) + raw[pos:]
    return name, raw
