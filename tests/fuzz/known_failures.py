"""Failure classes that other branches are fixing now (issues 10 and 11): the fuzz harness tolerates these only.

Each entry names its area and issue item, a minimal reproducer, a predicate on the input (`applies`) and, for
cases that fail fast, the signature of the failure (`outcome`). An entry without `outcome` is skipped before it
runs: those inputs hang or eat memory today, and each would cost the whole 10 s watchdog.
Delete an entry once its fix is merged: from then on the suite holds the fix to the contract.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import yaml

from .fuzz_harness import CANARIES, CANARY_ENV, Case, Outcome


@dataclass(frozen=True)
class KnownFailure:
    """A failure class: where it is fixed, how to see it, which inputs it covers, which violations it excuses."""

    name: str
    area: str
    issue: str
    reproducer: str
    applies: Callable[[Case], bool]
    outcome: Callable[[Outcome], bool] | None = None
    excuses: tuple[str, ...] = ()  # prefixes of the violations (fuzz_harness.violations) this class explains


def _text(case: Case) -> str:
    return " ".join(case.argv)


_INTERNAL = "an internal error was reported"
_EXIT_4 = ("render exited 4", "validate exited 4", "exit 4 (state failure)")


def _internal(*exceptions: str) -> Callable[[Outcome], bool]:
    return lambda o: any(f"internal error: {name}:" in o.stderr for name in exceptions)


def _alias_expansion(raw: bytes) -> float:
    """How many nodes a YAML file expands to once its aliases are followed (inf for a recursive alias)."""
    try:
        root = yaml.compose(raw.decode("utf-8", "replace"), Loader=yaml.CSafeLoader)
    except Exception:  # noqa: BLE001 - not YAML flowrun could load: no expansion to fear
        return 0
    sizes: dict[int, float] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    active: set[int] = set()
    while stack:
        node, done = stack.pop()
        if done:
            active.discard(id(node))
            children = _children(node)
            sizes[id(node)] = 1 + sum(sizes.get(id(c), float("inf")) for c in children)
            continue
        if id(node) in sizes:
            continue
        if id(node) in active:
            return float("inf")
        active.add(id(node))
        stack.append((node, True))
        stack += [(c, False) for c in _children(node) if id(c) not in sizes]
    return sizes.get(id(root), 0) if root is not None else 0


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def _alias_bomb(case: Case) -> bool:
    return any(b"*" in raw and _alias_expansion(raw) > 100_000 for raw in case.files.values())


_BIG = r"[-+]?\d{6,}(?!\d|\.\d)"  # an integer of 100,000 or more
_HUGE_RANGE = re.compile(rf"(?<![\d.]){_BIG}\s*\.\.|\.\.\s*{_BIG}|range\([^)]*(?<![\d.]){_BIG}")
_JQ_RUNAWAY = ("def f: f", "def f: [f]")


def _huge_collection(case: Case) -> bool:
    """A range (`a..b` or `range()`, alone or as a loop's iterable) with a bound of 100,000 or more."""
    return bool(_HUGE_RANGE.search(_text(case)))


def _deep_or_recursive(case: Case) -> bool:
    """Nesting of 100 levels or more, a recursive YAML alias, or a macro that calls itself."""
    text = _text(case) + " ".join(raw.decode("utf-8", "replace") for raw in case.files.values())
    depth = level = 0
    for char in text:
        level += char in "([{"
        level -= char in ")]}"
        depth = max(depth, level)
    indent = max((len(line) - len(line.lstrip(" -")) for line in text.split("\n")), default=0)
    self_alias = any(_alias_expansion(raw) == float("inf") for raw in case.files.values() if b"&" in raw)
    return depth >= 100 or indent >= 200 or self_alias or "{% macro m" in text


KNOWN_FAILURES: list[KnownFailure] = [
    KnownFailure(
        "yaml-alias-bomb", "load.py (YAML bounds)", "issue 11 item 3",
        "flowrun validate bomb.yaml  # a0: &a0 [lol] / a1: &a1 [*a0 x9] ... a8: 9^8 nodes: >10 s, >1 GB",
        _alias_bomb),
    KnownFailure(
        "deep-structure-recursion", "templating/ and load.py (RecursionError)", "issue 11 item 5",
        "flowrun validate deep.yaml  # nested: [[[[...1...]]]] 600 levels -> internal error: RecursionError",
        _deep_or_recursive, _internal("RecursionError"), (_INTERNAL, *_EXIT_4, "one bad file hid")),
    KnownFailure(
        "template-huge-collection", "templating/ (template bounds)", "issue 11 item 3",
        "flowrun render '{{ range(0, 100000000) | length }}'  # ~4 GB, minutes",
        _huge_collection),
    KnownFailure(
        "jq-runaway", "templating/ (jq bounds)", "issue 11 item 2",
        "flowrun render \"{{ 1 | jq('def f: f; f') }}\"  # never ends, ignores SIGTERM",
        lambda c: any(p in _text(c) for p in _JQ_RUNAWAY)),
    KnownFailure(
        "template-exponential-macro", "templating/ (template bounds)", "issue 11 item 3",
        "flowrun render '{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}"
        "{{ m(40) }}'  # 2^40 calls",
        lambda c: "m(n - 1) }}{{ m(n - 1)" in _text(c)),
    KnownFailure(
        "template-regex-backtracking", "templating/ (regex engine)", "issue 11 item 3",
        "flowrun render \"{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' | split('(a+)+$') }}\"  # exponential",
        lambda c: "(a+)+" in _text(c)),
    KnownFailure(
        "jq-env-leak", "templating/ (jq environment)", "issue 11 item 1",
        "flowrun render \"{{ 1 | jq('env') }}\"  # prints OTHER_TOKEN and every SECRET_*",
        lambda c: "jq(" in _text(c), lambda o: any(v in o.stdout + o.stderr for v in (*CANARIES.values(), *CANARY_ENV.values())),
        ("an environment variable's value",)),
    KnownFailure(
        "render-context-errors", "cli render --context", "issue 11 item 6",
        "flowrun render '{{ 1 }}' --context '[1,2]'  # also @missing.json, a non-UTF-8 file: internal error",
        lambda c: c.argv[:1] == ["render"] and "--context" in c.argv,
        _internal("TypeError", "FileNotFoundError", "UnicodeDecodeError", "IsADirectoryError", "AttributeError"),
        (_INTERNAL, *_EXIT_4)),
    KnownFailure(
        "render-template-error-exit-4", "cli render (exit codes)", "issue 10 item 6",
        "flowrun render '{{ nope }}'  # exit 4 (state failure) for a template error",
        lambda c: "render" in c.argv, lambda o: o.code == 4 and "template error: " in o.stderr, _EXIT_4),
    KnownFailure(
        "template-invalid-regex", "templating/ (regex filters)", "issue 11 item 6",
        "flowrun render \"{{ 'a[b' | split('[') }}\"  # internal error: error: unterminated character set",
        lambda c: "split(" in _text(c) or "replace(" in _text(c), _internal("error"), (_INTERNAL, *_EXIT_4)),
    KnownFailure(
        "template-date-huge-epoch", "templating/ (date filters)", "issue 11 item 6",
        "flowrun render \"{{ 99999999999999999 | date('yyyy') }}\"  # internal error: OSError: [Errno 75]",
        lambda c: "date" in _text(c), _internal("OSError", "OverflowError", "ValueError"), (_INTERNAL, *_EXIT_4)),
    KnownFailure(
        "corrupt-state-db", "state/db.py (damaged state DB)", "issue 11 item 7",
        "flowrun executions list --home damaged/garbage-page-1  # internal error: DatabaseError: ... malformed",
        lambda c: any("damaged/" in a for a in c.argv), _internal("DatabaseError", "OperationalError"),
        (_INTERNAL,)),
    KnownFailure(
        "kv-exit-4", "cli kv (exit codes, key validation)", "issue 10 item 6, issue 11 item 10",
        "flowrun kv get fuzz missing  # exit 4; also an invalid key or namespace, --type NUMBER notanumber",
        lambda c: "kv" in c.argv[:2], lambda o: o.code == 4 and "internal error" not in o.stderr, _EXIT_4),
]


def skipped(case: Case) -> KnownFailure | None:
    """The known failure whose inputs are not run at all (they hang or eat memory today)."""
    return next((k for k in KNOWN_FAILURES if k.outcome is None and k.applies(case)), None)


def excused(case: Case, outcome: Outcome, found: list[str]) -> tuple[list[str], list[KnownFailure]]:
    """The violations no known failure explains, and the known failures that explained the others."""
    matching = [k for k in KNOWN_FAILURES if k.outcome is not None and k.applies(case) and k.outcome(outcome)]
    left = [v for v in found if not any(v.startswith(prefix) for k in matching for prefix in k.excuses)]
    used = [k for k in matching if any(v.startswith(p) for v in found for p in k.excuses)]
    return left, used
