"""Pebble corners Kestra users meet: CR and CRLF line endings, `distinct` of null, missing required function
arguments, filters on a type they reject, and the `block` tag (facts from Pebble's and Kestra's own tests)."""

from __future__ import annotations

import pytest

from flowrun.templating import TemplateError, render

KT = "kestra-io/kestra core/src/test/java/io/kestra/core/runners/pebble/"
PB = "PebbleTemplates/pebble pebble/src/test/java/io/pebbletemplates/pebble/"

LINE_ENDINGS = [
    # (source, template, context, expected)
    (KT + "filters/IndentFilterTest#indentStringWithCRLF", "{{ v | indent(2) }}", {"v": "a\r\nb"}, "a\r\n  b"),
    (KT + "filters/IndentFilterTest#indentStringWithCR", "{{ v | indent(2) }}", {"v": "a\rb"}, "a\r  b"),
    (KT + "filters/IndentFilterTest (mixed endings)", "{{ v | indent(1) }}", {"v": "a\r\nb\rc\nd"}, "a\r\n b\r c\n d"),
    (KT + "filters/NindentFilterTest#nindentStringWithCRLF", "{{ v | nindent(2) }}", {"v": "a\r\nb"},
     "\r\n  a\r\n  b"),
    (KT + "filters/NindentFilterTest#nindentStringWithCR", "{{ v | nindent(2) }}", {"v": "a\rb"}, "\r  a\r  b"),
    ("Pebble LexerImpl: template text is copied as is", "a\r\n{{ 1 }}\r\nb\rc", {}, "a\r\n1\r\nb\rc"),
    ("Pebble LexerImpl: a printed value keeps its endings", "{{ v }}", {"v": "p\r\nq\rr"}, "p\r\nq\rr"),
    ("Pebble ForNode: a loop body's CRLF per iteration", "{% for i in [1,2] %}{{ i }}\r\n{% endfor %}", {},
     "1\r\n2\r\n"),
    ("Pebble whitespace control trims CR and CRLF too", "a\r\n{{- 1 -}}\r\nb", {}, "a1b"),
    ("Pebble whitespace control around a tag", "a\r{%- if true -%}\r b{% endif %}", {}, "ab"),
]


@pytest.mark.parametrize(("source", "template", "context", "expected"), LINE_ENDINGS,
                         ids=[c[0].rsplit("/", 1)[-1] for c in LINE_ENDINGS])
def test_line_endings_are_kept(source: str, template: str, context: dict, expected: str) -> None:
    assert render(template, context) == expected, source


def test_distinct_of_null_is_the_text_null() -> None:
    # DistinctFilterTest#toDistinctFilter: `{{ null | distinct }}` renders "null" (the filter returns that text)
    assert render("{{ null | distinct }}", {}) == "null"
    assert render("{{ x | distinct }}", {"x": None}) == "null"
    assert render("{{ [] | distinct }}", {}) == "[]"


ERRORS = [
    # (source, template, context, fragment of the message)
    (KT + "functions/FromJsonFunctionTest#exception", "{{ fromJson() }}", {}, "expects an argument 'json'"),
    (KT + "functions/FromIonFunctionTest#exception", "{{ fromIon() }}", {}, "expects an argument 'ion'"),
    (KT + "functions/FromJsonFunctionTest#exception", "{{ fromJson('{not: json}') }}", {}, "Invalid json"),
    (KT + "functions/FromIonFunctionTest#exception", "{{ fromIon('{not: ion') }}", {}, "Invalid ion"),
    ("Pebble Base64DecoderFilter (a map)", "{{ m | base64decode }}", {"m": {"a": 1}}, "base64decode applies to a String"),
    ("Pebble Base64DecoderFilter (a number)", "{{ 5 | base64decode }}", {}, "base64decode applies to a String"),
    ("Pebble Base64DecoderFilter (not Base64)", "{{ 'a!b' | base64decode }}", {}, "correctly Base64"),
    ("Pebble Sha256Filter (a map)", "{{ m | sha256 }}", {"m": {"a": 1}}, "sha256 needs a string to hash"),
    ("Pebble Sha256Filter (a list)", "{{ [1] | sha256 }}", {}, "sha256 needs a string to hash"),
    (KT + "filters/Md5FilterTest (ShaBaseFilter: a map)", "{{ m | md5 }}", {"m": {"a": 1}}, "md5 needs a string"),
    (KT + "filters/Sha1FilterTest (ShaBaseFilter: a number)", "{{ 1 | sha1 }}", {}, "sha1 needs a string"),
    (KT + "filters/Sha512FilterTest (ShaBaseFilter: a map)", "{{ m | sha512 }}", {"m": {}}, "sha512 needs a string"),
    ("Pebble BlockFunction: an unknown block", "{{ block('nope') }}", {}, "Block [nope] does not exist"),
]


@pytest.mark.parametrize(("source", "template", "context", "fragment"), ERRORS, ids=[c[1] for c in ERRORS])
def test_errors(source: str, template: str, context: dict, fragment: str) -> None:
    with pytest.raises(TemplateError) as info:
        render(template, context)
    assert fragment in info.value.message, source


VALUES = [
    (KT + "functions/FromJsonFunctionTest#fronJsonFunction", "{{ fromJson(null) }}", ""),
    (KT + "functions/FromIonFunctionTest#ionDecodeFunction", "{{ fromIon(null) }}", ""),
    ("Kestra FromJsonFunction: the argument by name", "{{ fromJson(json='[1]')[0] }}", "1"),
    (KT + "functions/FromIonFunctionTest#multiLine (first row only)", "{{ fromIon('{a:1} {a:2}') }}", '{"a":1}'),
    (KT + "functions/FromIonFunctionTest#multiLine (allRows)", "{{ fromIon('{a:1} {a:2}', allRows=true) }}",
     '[{"a":1},{"a":2}]'),
    ("Pebble Sha256Filter (a string)", "{{ 'hello' | sha256 }}",
     "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"),
    ("Pebble Base64DecoderFilter (a string)", "{{ 'dGVzdA==' | base64decode }}", "test"),
    ("Pebble Sha256Filter (null)", "{{ null | sha256 }}", ""),
]


@pytest.mark.parametrize(("source", "template", "expected"), VALUES, ids=[c[1] for c in VALUES])
def test_values(source: str, template: str, expected: str) -> None:
    assert render(template, {}) == expected, source


BLOCKS = [
    (PB + "CoreTagsTest#testBlockWithStringLiteralName", "{% block 'content' %}hello{% endblock 'content' %}",
     "hello"),
    (PB + "CoreTagsTest (a named endblock)", "{% block content %}hi{% endblock content %}", "hi"),
    ("PebbleTemplates/pebble CoreFunctionTest#testBlockFunction", "{% block title %}T{% endblock %}\n{{ block('title') }}",
     "T\nT"),
    ("Pebble MacroAndBlockRegistrantNodeVisitor: blocks are known before rendering",
     "{{ block('b') }}|{% block b %}x{{ v }}{% endblock %}", "x1|x1"),
    ("Pebble BlockNode: nested blocks", "{% block o %}a{% block i %}b{% endblock %}c{% endblock %}|{{ block('i') }}",
     "abc|b"),
    ("Pebble BlockNode: a block in a loop renders each time", "{% for i in [1,2] %}{% block b %}{{ i }}{% endblock %}"
     "{% endfor %}", "12"),
]


@pytest.mark.parametrize(("source", "template", "expected"), BLOCKS, ids=[c[1] for c in BLOCKS])
def test_block_tag(source: str, template: str, expected: str) -> None:
    assert render(template, {"v": 1}) == expected, source
