"""Issue 11 items 3, 5, 6: every template is bounded, deep templates and bad arguments give clear errors."""

from __future__ import annotations

import time

import pytest
from conftest import CliResult, Project

from flowrun.templating import TemplateError, render, render_typed

LOG = "io.kestra.plugin.core.log.Log"


def _clean(result: CliResult) -> None:
    out = result.stdout + result.stderr
    assert "Traceback" not in out and "internal error" not in out, out


def _fails(template: str, message: str, seconds: float = 15.0) -> None:
    """Rendering `template` ends within `seconds` with a TemplateError matching `message`."""
    started = time.monotonic()
    with pytest.raises(TemplateError, match=message):
        render(template, {"big": "x" * 1_000_000, "aab": "a" * 200 + "b"})
    assert time.monotonic() - started < seconds


# -- item 3: resource bounds ------------------------------------------------------------------------------
def test_a_huge_range_is_refused_before_it_is_built() -> None:
    _fails("{{ range(0, 100000000) | length }}",
           r"range\(0, 100000000\) would have 100,000,001 items; a template may build at most 1,000,000", 5)
    _fails("{% for i in 0..100000000 %}{% endfor %}", "would have 100,000,001 items", 5)
    assert render("{{ range(1, 1000) | length }}", {}) == "1000"


def test_nested_loops_stop_at_the_step_budget() -> None:
    _fails("{% for i in 1..100000 %}{% for j in 1..100000 %}{% endfor %}{% endfor %}",
           r"the template takes more than 2,000,000 evaluation steps .*; it was stopped")


def test_an_exponential_macro_stops_at_the_step_budget() -> None:
    _fails("{% macro f(n) %}{% if n > 0 %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(60) }}",
           "evaluation steps")


def test_filters_on_big_values_weigh_more() -> None:
    _fails("{% for i in 1..1000000 %}{% set n = big | length %}{% endfor %}", "evaluation steps")
    _fails("{% for i in 1..1000000 %}{% if 'y' in big %}{% endif %}{% endfor %}", "evaluation steps")


@pytest.mark.parametrize("walk", ["l | yaml", "l | toIon", "l | json", "l | string", "-1 in l", "l | join(',')",
                                  "l | distinct", "[l] | string"])  # nested lists are charged too
def test_walking_big_values_is_charged_per_item(walk: str) -> None:
    """Serializers and membership walk every item in Python: each call is charged for what it walks."""
    _fails("{% set l = range(1, 1000000) %}{% for i in 1..100 %}{{ " + walk + " | length }}{% endfor %}",
           "evaluation steps")


def test_distinct_of_maps_is_linear_and_keeps_pebble_equality() -> None:
    rows = [{"id": i % 1000, "tags": [i % 2]} for i in range(20000)]
    started = time.monotonic()
    assert render("{{ rows | distinct | length }}", {"rows": rows}) == "1000"
    assert time.monotonic() - started < 10
    assert render("{{ [1, 1.0, true, '1', [1], [1], {'a': 1}, {'a': 1}] | distinct }}", {}) == '[1,true,"1",[1],{"a":1}]'


def test_output_and_strings_are_capped() -> None:
    _fails("{% for i in 1..100 %}{{ big }}{% endfor %}", r"the rendered output is larger than 33,554,432 characters")
    _fails("{% set s = big %}{% for i in 1..10 %}{% set s = s ~ s %}{% endfor %}{{ s | length }}",
           r"a string joined with ~ would be .* characters long; a template may build at most 33,554,432")
    doubled = "{% set l = [big] %}{% for i in 1..12 %}{% set l = l + l %}{% if loop.last %}PRINT{% endif %}{% endfor %}"
    _fails(doubled.replace("PRINT", "{{ l | join(',') }}"), "the joined string would be")
    _fails(doubled.replace("PRINT", "{{ l }}"), "the JSON text would be")
    _fails(doubled.replace("PRINT", "{{ l | yaml }}"), "the YAML text: the value holds more than|would be")
    _fails("{% set l = [1] %}{% for i in 1..25 %}{% set l = l + l %}{% endfor %}",
           "a list joined with \\+ would have 1,048,576 items")
    _fails("{{ 'a\nb' | indent(100000000) }}", "the indented text would be")


def test_numbers_cannot_grow_without_end() -> None:
    _fails("{% set x = 3 %}{% for i in 1..40 %}{% set x = x * x %}{% endfor %}{{ x }}",
           "a number has more than 4096 bits")
    assert render_typed("{{ 9223372036854775807 * 2 }}", {}) == 18446744073709551614


def test_catastrophic_regex_in_split_is_stopped() -> None:
    _fails("{{ aab | split('(a|aa)+$') }}",
           r"The regular expression `\(a\|aa\)\+\$` ran longer than 1s and was stopped")


def test_catastrophic_regex_in_replace_is_stopped() -> None:
    _fails("{{ aab | replace({'(a|aa)+$': 'x'}, regexp=true) }}", "ran longer than 1s")


def test_valid_regexes_split_as_java_does() -> None:
    cases = {
        "{{ 'a,b,,' | split(',') }}": '["a","b"]',
        "{{ 'a,b,,' | split(',', -1) }}": '["a","b","",""]',
        "{{ 'a,b,c' | split(',', 2) }}": '["a","b,c"]',
        "{{ 'a,b' | split('(,)') }}": '["a","b"]',
        "{{ 'abc' | split('') }}": '["a","b","c"]',
        "{{ 'aBcDe' | split('(?=[A-Z])') }}": '["a","Bc","De"]',
        "{{ 'a1b22c' | split('\\\\p{Digit}+') }}": '["a","b","c"]',
        "{{ 'a_1 b' | split('[^\\\\p{Alnum}]') }}": '["a","1","b"]',
        "{{ ',' | split(',') }}": "[]",
        "{{ '' | split(',') }}": '[""]',
        "{{ 'x-1' | replace({'(?<name>[a-z])-(\\\\d)': '${name}$2'}, regexp=true) }}": "x1",
    }
    for template, expected in cases.items():
        assert render(template, {}) == expected, template


def test_a_task_timeout_stops_its_template_rendering(project: Project) -> None:
    """Each iteration costs little budget but real time: the task's timeout is what ends it."""
    path = project.flow(f"""
        id: f
        namespace: t
        tasks:
          - id: slow
            type: {LOG}
            timeout: PT1S
            message: "{{% set s = range(1, 300) | join(',') %}}{{% for i in 1..1000000 %}}{{% set p = s | split(',') %}}{{% endfor %}}"
        """)
    started = time.monotonic()
    result = project.cli("run", str(path), timeout=60)
    assert time.monotonic() - started < 20
    assert result.code == 1
    assert "timed out after PT1S" in result.stdout
    _clean(result)


# -- item 5: deep templates -------------------------------------------------------------------------------
def test_deeply_nested_parentheses_are_a_template_error(project: Project) -> None:
    deep = "{{ " + "(" * 5000 + "1" + ")" * 5000 + " }}"
    with pytest.raises(TemplateError, match="The template nests too deeply"):
        render(deep, {})
    result = project.cli("render", deep)
    assert result.code == 3 and "template error: The template nests too deeply" in result.stderr
    _clean(result)


def test_deep_data_and_recursive_render_are_template_errors() -> None:
    with pytest.raises(TemplateError, match="nests too deeply"):
        render("{{ fromJson(text) }}", {"text": "[" * 100000 + "]" * 100000})
    with pytest.raises(TemplateError):
        render("{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}", {})


# -- item 6: bad arguments --------------------------------------------------------------------------------
def test_invalid_regex_is_a_template_error(project: Project) -> None:
    with pytest.raises(TemplateError, match=r"Invalid regular expression `\[`: unterminated character set"):
        render("{{ 'a[b' | split('[') }}", {})
    result = project.cli("render", "{{ 'a[b' | split('[') }}")
    assert result.code == 3 and "template error: Invalid regular expression `[`" in result.stderr
    _clean(result)


def test_date_of_a_huge_epoch_is_a_template_error(project: Project) -> None:
    with pytest.raises(TemplateError, match=r"The epoch 99999999999999999 is outside the supported dates"):
        render("{{ 99999999999999999 | date('yyyy') }}", {})
    result = project.cli("render", "{{ -99999999999999999 | date('yyyy') }}")
    assert result.code == 3 and "is outside the supported dates" in result.stderr
    _clean(result)
    assert render("{{ 0 | date('yyyy') }}", {}) == "1970"


def test_file_size_of_a_missing_file_fails_the_task_clearly(project: Project) -> None:
    path = project.flow(f"""
        id: f
        namespace: t
        tasks:
          - id: size
            type: {LOG}
            message: "{{{{ fileSize('nope.txt') }}}}"
        """)
    result = project.cli("run", str(path))
    assert result.code == 1
    assert "template error: cannot get the size of `nope.txt`: No such file or directory" in result.stdout
    assert str(project.root) not in result.stdout + result.stderr
    _clean(result)


def test_a_range_beyond_a_machine_integer_is_refused_not_overflowed() -> None:
    """Found by `make fuzz`: len() of such a range raised OverflowError, an internal error."""
    _fails("{{ 0..9223372036854775808 }}", "would have 9,223,372,036,854,775,809 items", 5)
    assert render("{{ range(10, 0, -3) }} {{ 3..1 }}", {}) == "[10,7,4,1] []"
