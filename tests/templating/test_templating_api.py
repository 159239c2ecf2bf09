"""flowrun.templating API: errors, sandboxing, typed mode, recursive values and runtime hooks."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from flowrun.templating import TemplateError, render, render_typed, render_value

KT = "kestra-io/kestra core/src/test/java/io/kestra/core/runners/pebble/"
BLOCK = {"block": {"test": {"child": "awesome"}}, "inner": "test"}

ERROR_CASES = [
    # (source, template, context, fragment expected in the message)
    (KT + "PebbleVariableRendererTest#exception", "{{ missing is defined ? missing : missing2 }}", {}, "`missing2`"),
    (KT + "PebbleVariableRendererTest#firstDefined", "{{ missing is defined ? missing : missing2 }}", BLOCK, "`missing2`"),
    (KT + "PebbleVariableRendererTest#get", "{{ get missing }}", BLOCK, "get missing"),
    (KT + "expression/NullCoalescingExpressionTest#firstDefined", "{{ missing ?? missing2 }}", BLOCK, "`missing2`"),
    (KT + "PebbleVariableRendererTest#recursiveRenderingAmountLimit", "{{ render(first) }}",
     {"first": "{{second}}", "second": "{{first}}"}, "Too many rendering attempts"),
    (KT + "filters/ToJsonFilterTest#exception", "{{ | toJson }}", {}, "toJson"),
    (KT + "filters/EscapeCharFilterTest#invalidTypes", "{{ 'Hello' | escapeChar('foo') }}", {}, "foo"),
    (KT + "filters/EscapeCharFilterTest#invalidTypes", "{{ 'Hello' | escapeChar('') }}", {}, "escape"),
    (KT + "filters/DistinctFilterTest#distinctFilterWithInvalidInput", '{{ "string" | distinct }}', {}, "distinct"),
    ("https://pebbletemplates.io/wiki/guide/basic-usage/ (strict variables)", "{{ foo }}", {}, "`foo`"),
    ("https://pebbletemplates.io/wiki/guide/basic-usage/ (strict variables)", "{{ a.b.c }}", {"a": {"b": {}}}, "`c`"),
    ("PebbleTemplates/pebble IfNode (strict: null condition)", "{% if x %}y{% endif %}", {"x": None}, "null value"),
    ("PebbleTemplates/pebble IfNode (map condition)", "{% if x %}y{% endif %}", {"x": {"a": 1}}, "Unsupported value type"),
    ("PebbleTemplates/pebble LexerImpl (unclosed print)", "{{ foo", {}, "Unclosed"),
    ("PebbleTemplates/pebble parser (unknown tag)", "{% foo %}", {}, "foo"),
    ("PebbleTemplates/pebble parser (unclosed if)", "{% if true %}x", {}, "endif"),
    ("PebbleTemplates/pebble FilterExpression (unknown filter)", "{{ 1 | nope }}", {}, "nope"),
    ("PebbleTemplates/pebble OperatorUtils (Long division by zero)", "{{ 1 / 0 }}", {}, "by zero"),
    ("PebbleTemplates/pebble SliceFilter (toIndex too big)", "{{ 'abc' | slice(0, 10) }}", {}, "toIndex"),
]


@pytest.mark.parametrize(("source", "template", "context", "fragment"), ERROR_CASES, ids=[c[1] for c in ERROR_CASES])
def test_errors(source: str, template: str, context: dict, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, context)
    assert fragment in info.value.message, source
    assert info.value.template


def test_undefined_message_matches_kestra() -> None:
    with pytest.raises(TemplateError) as info:
        render("{{ foo }}", {})
    assert info.value.message == "Unable to find `foo` used in the expression `{{ foo }}` at line 1"
    assert info.value.template == "{{ foo }}"


def test_undefined_message_names_the_line() -> None:
    with pytest.raises(TemplateError, match="at line 3"):
        render("a\nb\n{{ nope }}", {})


@pytest.mark.parametrize("template", ["{{ x.__class__ }}", "{{ x.upper }}", "{{ x['__class__'] }}", "{{ m.items }}",
                                      "{{ x.__class__.__mro__ }}", "{{ l.append }}"])
def test_sandbox_reads_no_python_attribute(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, {"x": "abc", "m": {"a": 1}, "l": [1]})


def test_sandbox_blocks_python_methods() -> None:
    with pytest.raises(TemplateError):
        render("{{ x.format('y') }}", {"x": "abc{}"})
    with pytest.raises(TemplateError):
        render("{{ m.pop('a') }}", {"m": {"a": 1}})


def test_fast_path_returns_same_object() -> None:
    text = "no braces here"
    assert render(text, {}) is text


def test_typed_mode_returns_native_values() -> None:
    assert render_typed("{{ [1, 2] }}", {}) == [1, 2]
    assert render_typed("  {{ {'a': 1} }}  ", {}) == {"a": 1}
    assert render_typed("{{ n + 1 }}", {"n": 1}) == 2
    assert render_typed("{{ x }}", {"x": None}) is None
    assert render_typed("n={{ n }}", {"n": 1}) == "n=1"
    assert render_typed("{{ a }}{{ b }}", {"a": 1, "b": 2}) == "12"


def test_render_value_recurses_into_keys_and_lists() -> None:
    value = {"{{ k }}": ["{{ v }}", 3, None], "n": "{{ n }}"}
    assert render_value(value, {"k": "key", "v": "val", "n": 5}) == {"key": ["val", 3, None], "n": "5"}
    assert render_value({"n": "{{ n }}"}, {"n": 5}, typed=True) == {"n": 5}


def test_date_output_like_java_instant() -> None:
    instant = dt.datetime(2024, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC)
    assert render("{{ d }}", {"d": instant}) == "2024-01-02T03:04:05.120Z"


class FakeRuntime:
    def kv(self, key: str, namespace: str | None, error_on_missing: bool) -> Any:
        return {"key": key, "ns": namespace, "strict": error_on_missing}

    def secret(self, key: str) -> str:
        return f"secret-{key}"

    def read(self, path: str) -> str:
        return f"content of {path}"

    def file_size(self, uri: str) -> int:
        return 42

    def file_exists(self, path: str) -> bool:
        return path == "yes"

    def is_file_empty(self, path: str) -> bool:
        return False


def test_runtime_hooks() -> None:
    rt = FakeRuntime()
    assert render("{{ kv('K').key }}", {}, rt) == "K"
    assert render_typed("{{ kv('K', namespace='n', errorOnMissing=true) }}", {}, rt) == {"key": "K", "ns": "n", "strict": True}
    assert render("{{ secret('GCP') }}", {}, rt) == "secret-GCP"
    assert render("{{ read('a.txt') }}", {}, rt) == "content of a.txt"
    assert render("{{ fileSize('kestra:///x') }}", {}, rt) == "42"
    assert render("{{ fileExists('yes') }} {{ isFileEmpty('x') }}", {}, rt) == "true false"


def test_runtime_missing_is_an_error() -> None:
    with pytest.raises(TemplateError, match="not available"):
        render("{{ secret('X') }}", {})


def test_file_uri_rejects_parent_paths() -> None:
    with pytest.raises(TemplateError):
        render("{{ fileURI('../etc/passwd') }}", {"flow": {"namespace": "a.b"}})


def test_uuid_and_id_shapes() -> None:
    assert len(render("{{ uuid() }}", {})) == 36
    assert len(render("{{ id() }}", {})) == 22


def test_print_context_returns_the_context() -> None:
    assert render_typed("{{ printContext() }}", {"a": 1}) == {"a": 1}


def test_a_template_is_parsed_once_for_the_flow_check_and_the_run() -> None:
    from flowrun.templating.check import analyze
    from flowrun.templating.parser import parse_template

    source = "{{ outputs.first.value | number + 1 }} of {{ flow.id }} (parse-once)"
    assert analyze(source).syntax is None
    assert parse_template(source) is parse_template(source)  # the check's nodes, reused when it is compiled
    assert render(source, {"outputs": {"first": {"value": "41"}}, "flow": {"id": "f"}}) == "42 of f (parse-once)"
    macro = "{% macro m(x) %}<{{ x }}>{% endmacro %}{{ m(1) }}{{ m(2) }}"
    assert parse_template(macro) is not parse_template(macro)  # the compiler stores closures on macro nodes
    assert render(macro, {}) == "<1><2>"
    blocks = "{% block b %}[{{ v }}]{% endblock %}{{ block('b') }}"
    assert render(blocks, {"v": 3}) == "[3][3]"
