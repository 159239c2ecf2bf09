"""Hypothesis strategies for Pebble-ish templates: expressions and tags from flowrun's grammar, then byte noise.

Filter, function and test names come from flowrun's own registries, so a new filter is fuzzed the day it lands.
Numbers are small most of the time: a huge range or loop bound is drawn rarely (it is a known failure until
the template bounds land, and each such case would otherwise cost the whole 10 s watchdog).
"""

from __future__ import annotations

import json

from hypothesis import strategies as st

from flowrun.templating.evaluate import TESTS
from flowrun.templating.filters import FILTERS
from flowrun.templating.functions import FUNCTIONS
from flowrun.templating.parser import BINARY_PRECEDENCE

NAMES = ["inputs", "outputs", "vars", "flow", "execution", "taskrun", "labels", "trigger", "envs", "globals",
         "x", "item", "loop", "parent", "ünïcode", "_"]
ATTRS = ["name", "id", "namespace", "value", "date", "times", "first", "0", "1", "size", "a", "b"]
OPERATORS = sorted(op for op in BINARY_PRECEDENCE if op not in ("|", "is", "is not"))
TEST_NAMES = [*sorted(TESTS), "defined", "nosuchtest"]
FILTER_NAMES = [*sorted(FILTERS), "uppercase", "nosuchfilter"]
FUNCTION_NAMES = [*sorted(FUNCTIONS), "nosuchfunction"]
# Typical argument lists, so that filters get past their argument checks and reach their real work.
FILTER_ARGS: dict[str, list[str]] = {
    "date": ["('yyyy-MM-dd')", "(\"yyyy-MM-dd'T'HH:mm:ssXXX\")", "('EEE, d MMM yyyy', timeZone='UTC')", "('iso')"],
    "dateAdd": ["(1, 'DAYS')", "(-3, 'HOURS')", "(2, 'MONTHS')"],
    "jq": ["('.')", "('.a')", "('.[]')", "('keys')", "('map(.+1)')", "('[.[] | select(. > 1)]')", "('. as $x | $x')",
           "('env')", "('$ENV')", "('$__loc__')", "('def f: f; f')", "('def f: [f]; f')"],
    "split": ["(',')", "('-', 2)", "('\\\\s+')", "('')", "('[')", "('(?<x>a)')"],
    "replace": ["({'a': 'b'})", "({'[0-9]+': '#'}, regexp=true)", "({'(a)': '$1$1'}, regexp=true)"],
    "number": ["('INT')", "('LONG')", "('FLOAT')", "('DOUBLE')", "('BIGDECIMAL')"],
    "numberFormat": ["('#,##0.00')", "('0.###E0')", "('00')"],
    "abbreviate": ["(5)", "(0)", "(-1)"], "indent": ["(2)", "(0, '-')"], "nindent": ["(4)"],
    "chunk": ["(2)", "(0)"], "slice": ["(1, 3)", "(-1)", "(5, 1)"], "default": ["('x')", "(null)"],
    "escapeChar": ["('shell')", "('single')", "('double')"], "join": ["(',')", "()"], "merge": ["([1])", "({'k': 1})"],
    "substringBefore": ["('a')"], "substringAfter": ["('-')"], "startsWith": ["('a')"], "endsWith": ["('z')"],
}
FUNCTION_ARGS: dict[str, list[str]] = {
    "range": ["(0, 3)", "(5, 1, -1)", "(1, 10, 3)", "('a', 'e')"],
    "render": ["('{{ 1 + 1 }}')", "(\"{{ '{{ 2 }}' }}\", recursive=false)"],
    "kv": ["('greeting')", "('missing', errorOnMissing=true)", "('greeting', 'fuzz')"],
    "secret": ["('FUZZ')", "('MISSING')"], "read": ["('data/value.txt')", "('missing.txt')"],
    "fromJson": ["('{\"a\": [1, 2]}')", "('[1,')"], "yaml": ["('a: 1')", "('a: [')"],
    "randomInt": ["(1, 5)", "(5, 1)"], "max": ["(1, 2, 3)"], "min": ["('a', 'b')"],
    "now": ["()", "(timeZone='Europe/Paris')"], "fileURI": ["('data/value.txt')"],
    "fileSize": ["('data/value.txt')"], "fileExists": ["('data/value.txt')", "('nope')"],
}
NOISE = list("{}%#|()[]'\"\\-~.,:=?!*/+<>@$& \n\t") + ["\x00", "\x7f", "é", "中", "\U0001f600", "\u200b", "\ufeff"]
BIG_NUMBERS = [10**5, 10**6, 10**8, 2**31, 2**63, 10**30]


@st.composite
def numbers(draw: st.DrawFn) -> str:
    kind = draw(st.integers(0, 150))
    if kind == 150:  # rare: a bound large enough to stress range, loops and collection sizes
        return str(draw(st.sampled_from(BIG_NUMBERS)))
    if kind >= 140:
        return draw(st.sampled_from(["0.5", "-0.0", "3.14159", "007", "12L", "1.", "0.1234567890123"]))
    return str(draw(st.integers(-3, 12)))


@st.composite
def strings(draw: st.DrawFn) -> str:
    body = draw(st.one_of(st.sampled_from(["", "a", "a,b,c", "2019-01-01T09:00:00Z", "yellow", "#{ 1 + 1 }",
                                           "{{ 1 }}", "it's", "\\", "x_{{"]),
                          st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
                                  max_size=8)))
    quote = draw(st.sampled_from(["'", '"']))
    return quote + body.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def literals() -> st.SearchStrategy[str]:
    return st.one_of(numbers(), strings(), st.sampled_from(["true", "false", "null", "none", "[]", "{}"]))


@st.composite
def variables(draw: st.DrawFn) -> str:
    """A name and an attribute path: mostly one that exists in BASE_CONTEXT, sometimes a made-up one."""
    name = draw(st.sampled_from(NAMES))
    text, node = name, BASE_CONTEXT.get(name)
    for _ in range(draw(st.integers(0, 3))):
        real = sorted(node) if isinstance(node, dict) else list(range(len(node))) if isinstance(node, list) else []
        if real and draw(st.integers(0, 3)):
            key = draw(st.sampled_from(real))
            node = node[key]
        else:
            key, node = draw(st.one_of(st.sampled_from(ATTRS), st.integers(-3, 5))), None
        text += f"[{key}]" if isinstance(key, int) else draw(st.sampled_from([f".{key}", f"['{key}']"]))
    return text


@st.composite
def expressions(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 11 if depth < 2 else 1))
    sub = expressions(depth + 1)
    if kind == 0:
        return draw(literals())
    if kind == 1:
        return draw(variables())
    if kind == 2:
        name = draw(st.sampled_from(FILTER_NAMES if draw(st.booleans()) else sorted(FILTER_ARGS)))
        args = draw(st.sampled_from(["", *FILTER_ARGS.get(name, []), "()", "(1)", "('x', 2)"]))
        return f"{draw(sub)} | {name}{args}"
    if kind == 3:
        name = draw(st.sampled_from(FUNCTION_NAMES))
        generic = "(" + ", ".join(draw(st.lists(sub, max_size=3))) + ")"
        return name + draw(st.sampled_from([generic, *FUNCTION_ARGS.get(name, [])]))
    if kind == 4:
        return f"{draw(sub)} {draw(st.sampled_from(OPERATORS))} {draw(sub)}"
    if kind == 5:
        return f"{draw(st.sampled_from(['not ', '-', '+']))}{draw(sub)}"
    if kind == 6:
        return f"({draw(sub)})"
    if kind == 7:
        return f"{draw(sub)} ? {draw(sub)} : {draw(sub)}"
    if kind == 8:
        neg = draw(st.sampled_from(["", "not "]))
        return f"{draw(sub)} is {neg}{draw(st.sampled_from(TEST_NAMES))}"
    if kind == 9:
        return "[" + ", ".join(draw(st.lists(sub, max_size=4))) + "]"
    if kind == 10:
        pairs = draw(st.lists(st.tuples(st.one_of(strings(), st.sampled_from(ATTRS)), sub), max_size=3))
        return "{" + ", ".join(f"{k}: {v}" for k, v in pairs) + "}"
    return f"{draw(numbers())}..{draw(numbers())}"


@st.composite
def tags(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 10 if depth < 1 else 2))
    body = templates(depth + 1)
    left, right = draw(st.sampled_from([("{{", "}}"), ("{{-", "-}}"), ("{{ ", " -}}")]))
    if kind == 0:
        return draw(st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=6))
    if kind in (1, 2):
        return f"{left} {draw(expressions())} {right}"
    if kind == 3:
        elif_ = draw(st.sampled_from(["", f"{{% elseif {draw(expressions())} %}}{draw(body)}"]))
        else_ = draw(st.sampled_from(["", f"{{% else %}}{draw(body)}"]))
        return f"{{% if {draw(expressions())} %}}{draw(body)}{elif_}{else_}{{% endif %}}"
    if kind == 4:
        var = draw(st.sampled_from(["i", "x", "item"]))
        else_ = draw(st.sampled_from(["", f"{{% else %}}{draw(body)}"]))
        return f"{{% for {var} in {draw(expressions())} %}}{draw(body)}{else_}{{% endfor %}}"
    if kind == 5:
        return f"{{% set {draw(st.sampled_from(['x', 'y', 'inputs']))} = {draw(expressions())} %}}"
    if kind == 6:
        call = draw(st.sampled_from(["m()", "m(1)", "m(a=2)", "m(x)", "m(m(1))"]))
        return f"{{% macro m(a, b=1) %}}{draw(body)}{{% endmacro %}}{{{{ {call} }}}}"
    if kind == 7:
        return f"{{# {draw(st.text(max_size=5))} #}}"
    if kind == 8:
        return f"{{% raw %}}{draw(body)}{{% endraw %}}"
    if kind == 9:
        return f"{{% filter {draw(st.sampled_from(['upper', 'lower | title', 'trim', 'nosuchfilter']))} %}}" \
               f"{draw(body)}{{% endfilter %}}"
    return f"{{% block b %}}{draw(body)}{{% endblock %}}"


@st.composite
def templates(draw: st.DrawFn, depth: int = 0) -> str:
    return "".join(draw(st.lists(tags(depth), min_size=1, max_size=3 if depth == 0 else 2)))


@st.composite
def noisy(draw: st.DrawFn, text: str) -> str:
    """Byte-level noise: insert, delete, duplicate or cut characters at random places."""
    for _ in range(draw(st.integers(0, 3))):
        pos = draw(st.integers(0, len(text)))
        op = draw(st.integers(0, 3))
        if op == 0:
            text = text[:pos] + draw(st.sampled_from(NOISE)) + text[pos:]
        elif op == 1:
            text = text[:pos] + text[pos + draw(st.integers(1, 4)):]
        elif op == 2:
            text = text[:pos] + text[pos:pos + 6] + text[pos:]
        else:
            text = text[:pos]
    return text


#: a seed corpus: the probe's reproducers and other sharp edges, drawn now and then (and noised like the rest)
SEEDS = [
    "{{ 1 | jq('env') }}", "{{ 1 | jq('$ENV.OTHER_TOKEN') }}", "{{ 1 | jq('$__loc__') }}",
    "{{ 1 | jq('def f: f; f') }}", "{{ 1 | jq('def f: [f]; f') }}",
    "{{ range(0, 100000000) | length }}", "{% for i in 1..100000 %}{% for j in 1..100000 %}{% endfor %}{% endfor %}",
    "{% macro m(n) %}{% if n > 0 %}{{ m(n - 1) }}{{ m(n - 1) }}{% endif %}{% endmacro %}{{ m(40) }}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}",
    "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}", "{{ " + "[" * 3000 + "]" * 3000 + " }}",
    "{{ 'a[b' | split('[') }}", "{{ 'ab' | replace({'(': 'x'}, regexp=true) }}",
    "{{ 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!' | split('(a+)+$') }}",
    "{{ 99999999999999999 | date('yyyy') }}", "{{ -99999999999999999 | date }}", "{{ now() | dateAdd(99999, 'YEARS') }}",
    "{{ fileSize('missing.txt') }}", "{{ read('missing.txt') }}", "{{ read('../../../../etc/passwd') }}",
    "{{ fileURI('../x') }}", "{{ isFileEmpty('data') }}", "{{ render(render('{{ 1 }}')) }}",
    "{{ render('{{ render(\"{{ 2 }}\") }}') }}", "{{ printContext() }}", "{{ kv('greeting') }}",
    "{{ 'x' | indent(100000000) | length }}", "{{ '1e999' | number }}", "{{ 2147483648 | number('INT') }}",
    "{{ {'a': 1} | jq('.a') | first }}", "{{ [3, 1, 2] | sort | join(',') }}", "{{ inputs.date | date('EEE') }}",
]


@st.composite
def fuzz_templates(draw: st.DrawFn) -> str:
    """A grammar template or a seed, usually with a little noise, and now and then pure random text."""
    kind = draw(st.integers(0, 19))
    if kind == 0:
        return draw(st.text(st.sampled_from(NOISE + list("abc01 ")), max_size=30))
    template = draw(st.sampled_from(SEEDS)) if kind <= 2 else draw(templates())
    return draw(noisy(template)) if draw(st.booleans()) else template


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(ATTRS), inner, max_size=3)),
    max_leaves=8,
)


#: a context in which most names of the grammar resolve, so that templates get past "Unable to find"
BASE_CONTEXT = {
    "inputs": {"name": "Ana", "times": 3, "date": "2019-01-01T09:00:00Z", "a": [3, 1, 2], "b": {"k": "v"}},
    "outputs": {"first": {"value": "a,b"}, "id": {"value": 1, "values": {"k": [1, 2]}}},
    "vars": {"a": "x_{{ inputs.name }}", "b": 2.5, "size": "10"}, "flow": {"id": "f", "namespace": "fuzz"},
    "execution": {"id": "0e1", "date": "2019-01-01T09:00:00.123Z"}, "taskrun": {"id": "t", "value": "v"},
    "labels": {"team": "fuzz"}, "trigger": {"date": "2019-01-01T09:00:00Z", "next": "2019-01-02T09:00:00Z"},
    "x": 5, "item": "it", "loop": {"index": 0, "first": True}, "parent": {"taskrun": {"value": "p"}},
    "ünïcode": "é", "_": None,
}


@st.composite
def contexts(draw: st.DrawFn) -> list[str]:
    """`--context` options for render: mostly the base context, sometimes random JSON, a file, a broken value."""
    kind = draw(st.integers(0, 9))
    if kind <= 5:
        extra = draw(st.dictionaries(st.sampled_from(NAMES), json_values, max_size=2)) if kind == 5 else {}
        return ["--context", json.dumps({**BASE_CONTEXT, **extra})]
    if kind == 6:
        return []
    if kind == 7:
        return ["--context", json.dumps(draw(st.dictionaries(st.sampled_from(NAMES), json_values, max_size=4)))]
    return ["--context", draw(st.sampled_from(["@data/context.json", "@data/list.json", "@data/latin1.json",
                                               "@missing.json", "[1,2]", "{bad", "null", "@", "@data"]))]
