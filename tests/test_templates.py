"""Templates: the filters upstream recipes use, structured values, strict mode, parse caching."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import AsyncIterator

import pytest

from recipe_executor import templates
from recipe_executor.context import Context
from recipe_executor.errors import TemplateError
from recipe_executor.runtime import RunOptions, run_scope
from recipe_executor.templates import (
    check_template,
    is_template,
    render_structured,
    render_template,
    render_value,
    snakecase,
)

CTX = Context(
    artifacts={
        "name": "Hello There MyDocument",
        "obj": {"a": True, "b": None, "n": 2},
        "files": [{"path": "a.md"}, {"path": "b.md"}],
        "module": "pkg.sub.mod",
        "section": {"sections": [{"title": "child"}]},
        "leaf": {"title": "leaf"},
        "off": False,
        "zero": 0,
        "text": "<b>bold</b> and more words here",
    }
)


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{{ name | snakecase }}", "hello_there_my_document"),
        ("{{ 'HTTPServer v2.0' | snakecase }}", "httpserver_v20"),
        ("{{ obj | json }}", '{"a": true, "b": null, "n": 2}'),
        ("{{ obj | json: 2 }}", '{\n  "a": true,\n  "b": null,\n  "n": 2\n}'),
        ("{{ obj | json: indent: 2 }}", '{\n  "a": true,\n  "b": null,\n  "n": 2\n}'),
        ("{{ missing | default: 'fallback' }}", "fallback"),
        ("{{ off | default: true }}", "true"),
        ("{{ off | default: true, allow_false: true }}", "false"),
        ("{{ zero | default: 5 }}", "0"),
        ("{{ module | replace: '.', '/' }}", "pkg/sub/mod"),
        ("{{ module | split: '.' | join: '/' }}", "pkg/sub/mod"),
        ("{{ module | split: '.' | last }}", "mod"),
        ("{{ module | split: '.' | first | upcase }}", "PKG"),
        ("{{ files | map: 'path' | join: ',' }}", "a.md,b.md"),
        ("{{ files | size }}", "2"),
        ("{{ obj.n | plus: 1 }}{{ obj.n | minus: 1 }}", "31"),
        ("{{ 'ABC' | downcase }}", "abc"),
        ("{{ text | escape }}", "&lt;b&gt;bold&lt;/b&gt; and more words here"),
        ("{{ text | truncate: 10 }}", "<b>bold..."),
        ("{% assign kids = section | has: 'sections' %}{% if kids %}yes{% else %}no{% endif %}", "yes"),
        ("{% assign kids = leaf | has: 'sections' %}{% if kids %}yes{% else %}no{% endif %}", "no"),
        ("{{ '2024-08-16' | datetime: format: 'MMM d, y' }}", "Aug 16, 2024"),
        ("{% for f in files %}{{ f.path }}{% unless forloop.last %}, {% endunless %}{% endfor %}", "a.md, b.md"),
        ("{% capture c %}x{{ zero }}{% endcapture %}{{ c }}", "x0"),
        ("{{ obj }}", "{'a': True, 'b': None, 'n': 2}"),
        ("{{ files }}", "{'path': 'a.md'}{'path': 'b.md'}"),
        ("{{ off }} {{ obj.b }}|", "false |"),
        ("{{ nope }}/x {{ nope.deeper | upcase }}", "/x "),
        ("no markup at all", "no markup at all"),
    ],
)
def test_render_template_supports_what_upstream_recipes_use(template: str, expected: str) -> None:
    assert render_template(template, CTX) == expected


def test_date_filter_formats_now_with_strftime_codes() -> None:
    rendered = render_template("{{ 'now' | date: '%-m/%-d/%Y %I:%M:%S %p' }}", CTX)
    assert re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4} \d{2}:\d{2}:\d{2} (AM|PM)", rendered)
    month, day, year = (int(part) for part in rendered.split()[0].split("/"))
    parsed = dt.date(year, month, day)
    assert abs((parsed - dt.date.today()).days) <= 1


def test_snakecase_matches_upstream_rules() -> None:
    assert snakecase("  Spaces -and- dashes ") == "spaces_and_dashes"
    assert snakecase("already_snake") == "already_snake"
    assert snakecase(42) == "42"


def test_render_structured_passes_lists_and_objects_through() -> None:
    assert render_structured("{{ files }}", CTX) == [{"path": "a.md"}, {"path": "b.md"}]
    assert render_structured("  {{ obj }} ", CTX) == {"a": True, "b": None, "n": 2}
    assert render_structured("{{ obj.n }}", CTX) == 2
    assert render_structured("{{ files | map: 'path' }}", CTX) == ["a.md", "b.md"]
    assert render_structured("{{ obj.b }}", CTX) is None


def test_render_structured_renders_text_when_not_a_single_expression() -> None:
    assert render_structured("{{ obj.n }} items", CTX) == "2 items"
    assert render_structured("{{ obj.n }}{{ zero }}", CTX) == "20"
    assert render_structured("{% if off %}a{% else %}b{% endif %}", CTX) == "b"
    assert render_structured("plain", CTX) == "plain"


def test_render_structured_undefined_is_empty_text_as_upstream_prints_it() -> None:
    assert render_structured("{{ nope }}", CTX) == ""


def test_render_structured_gives_liquid_keywords_as_printed_and_ranges_as_lists() -> None:
    # `empty`/`blank` are Liquid literals, not variables: their value is what they print.
    assert render_structured("{{ empty }}", {"empty": "shadowed"}) == ""
    assert render_structured("{{ blank }}", CTX) == ""
    assert render_structured("{{ (1..3) }}", CTX) == [1, 2, 3]


def test_render_value_renders_strings_inside_nested_values_but_not_keys() -> None:
    value = {"{{ name }}": ["{{ obj.n }}", {"deep": "{{ module }}"}, 3, None]}
    assert render_value(value, CTX) == {"{{ name }}": ["2", {"deep": "pkg.sub.mod"}, 3, None]}
    assert render_value({"k": "{{ files }}"}, CTX, structured=True) == {"k": [{"path": "a.md"}, {"path": "b.md"}]}


def test_render_template_accepts_a_plain_mapping() -> None:
    assert render_template("{{ a }}", {"a": "from dict"}) == "from dict"


def test_render_template_syntax_error_is_a_one_line_template_error() -> None:
    with pytest.raises(TemplateError) as caught:
        render_template("{% if x %}never closed", CTX)
    message = str(caught.value)
    assert message.startswith("invalid Liquid template '{% if x %}never closed': ")
    assert "\n" not in message


def test_render_template_unknown_filter_names_it() -> None:
    with pytest.raises(TemplateError, match="python_exec"):
        render_template("{{ name | python_exec }}", CTX)


def test_check_template_reports_syntax_errors_without_rendering() -> None:
    assert check_template("{{ fine | upcase }}") is None
    assert check_template("no markup {") is None
    problem = check_template("{{ 'A' if x else 'B' }}")
    assert problem is not None and problem.startswith("invalid Liquid template")


def test_is_template_detects_output_and_tags() -> None:
    assert is_template("a {{ b }}") and is_template("{% if a %}{% endif %}")
    assert not is_template("just {text}")


def test_templates_are_parsed_once_and_cached() -> None:
    templates._parse.cache_clear()
    for _ in range(50):
        render_template("{{ name | upcase }} cached", CTX)  # a filter: plain {{ name }} skips Liquid
    info = templates._parse.cache_info()
    assert (info.misses, info.hits) == (1, 49)


def test_long_templates_are_shortened_in_error_messages() -> None:
    with pytest.raises(TemplateError) as caught:
        render_template("{% if %}" + "x" * 500, CTX)
    assert len(str(caught.value)) < 200


@pytest.fixture
async def strict() -> AsyncIterator[None]:
    """Renders inside a run started with ``--strict-templates``."""
    async with run_scope(RunOptions(strict_templates=True), logging.getLogger("t")):
        yield


async def test_strict_templates_undefined_output_is_an_error_naming_the_variable(strict: None) -> None:
    with pytest.raises(TemplateError) as caught:
        render_template("{{ out_dir }}/a.txt", CTX)
    assert str(caught.value) == "could not render template '{{ out_dir }}/a.txt': 'out_dir' is undefined"
    with pytest.raises(TemplateError, match="'out_dir' is undefined"):
        render_structured("{{ out_dir }}", CTX)
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        render_template("{{ nope.deeper }}", CTX)
    with pytest.raises(TemplateError, match="'nope' is undefined"):
        render_template("{% for x in nope %}{{ x }}{% endfor %}", CTX)


async def test_strict_templates_structured_undefined_names_the_whole_path(strict: None) -> None:
    context = {"cfg": {"inner": {}}}
    with pytest.raises(TemplateError, match=r"cfg\.missing is undefined"):
        render_structured("{{ cfg.missing }}", context)
    with pytest.raises(TemplateError, match=r"cfg\.inner\.deep is undefined"):
        render_structured("{{ cfg.inner.deep }}", context)


async def test_strict_templates_still_allow_default_and_if_tests(strict: None) -> None:
    assert render_template("{{ nope | default: 'd' }}", CTX) == "d"
    assert render_template("{% if nope %}yes{% else %}no{% endif %}", CTX) == "no"
    assert render_template("{{ name | snakecase }}", CTX) == "hello_there_my_document"
    assert render_structured("{{ files | size }}", CTX) == 2
