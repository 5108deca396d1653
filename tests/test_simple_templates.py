"""The simple-template fast path renders exactly what Liquid renders, and declines otherwise."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from liquid import Environment
from liquid.stringify import to_liquid_string

from recipe_executor._simple_templates import MISS, liquid_string, lookup, render_simple, simple_plan, single_path
from recipe_executor.context import Context
from recipe_executor.templates import check_template, render_structured, render_template

LIQUID = Environment(autoescape=False, extra=True)

VIEW: dict[str, Any] = {
    "name": "Ada",
    "n": 3,
    "pi": 3.5,
    "yes": True,
    "no": False,
    "nothing": None,
    "items": [1, "x", None, True, [2, 3]],
    "doc": {"meta": {"title": "T", "size": 7, "first": "f"}, "tags": ["a", "b"]},
    "now": "not the clock",
}

SIMPLE = [
    "{{ name }}",
    "Hello {{ name }}!",
    "{{name}}{{n}}",
    "{{ n }} and {{ pi }} and {{ yes }} / {{ no }} / [{{ nothing }}]",
    "{{ items }}",
    "{{ doc.meta.title }} ({{ doc.meta.size }}, {{ doc.meta.first }})",
    "{{ doc.tags }}",
    "{{ doc }}",
    "{{ now }}",
    "x }} y %} {{ name }} {{\n  n\n}}",
    "{{ name }}}",
]


@pytest.mark.parametrize("source", SIMPLE)
def test_simple_templates_render_what_liquid_renders(source: str) -> None:
    plan = simple_plan(source)
    assert plan is not None
    assert render_simple(plan, VIEW) == LIQUID.from_string(source).render(**VIEW)


@pytest.mark.parametrize(
    "source",
    [
        "{{ name | upcase }}",
        "{% if yes %}y{% endif %}",
        "{{- name -}}",
        "{{ true }}",
        "{{ items[0] }}",
        "{{ 'lit' }}",
        "{{ a }} {{ b | x }}",
        "{# note #}{{ name }}",
        "{{ my-var }}",
    ],
)
def test_other_shapes_are_left_to_liquid(source: str) -> None:
    assert simple_plan(source) is None


@pytest.mark.parametrize(
    "source",
    ["{{ missing }}", "{{ items.size }}", "{{ items.first }}", "{{ name.size }}", "{{ doc.meta.absent }}"],
)
def test_lookups_liquid_must_resolve_fall_back(source: str) -> None:
    plan = simple_plan(source)
    assert plan is not None
    assert render_simple(plan, VIEW) is None
    ctx = Context(artifacts=VIEW)
    assert render_template(source, ctx) == LIQUID.from_string(source).render(**VIEW)


def test_structured_single_path_returns_the_value_itself() -> None:
    ctx = Context(artifacts=VIEW)
    assert single_path("  {{ doc.tags }} ") == ("doc", "tags")
    assert render_structured("{{ doc.tags }}", ctx) == ["a", "b"]
    assert render_structured("{{ nothing }}", ctx) is None
    assert lookup(VIEW, ("doc", "nope")) is MISS
    assert render_structured("{{ items.size }}", ctx) == 5  # through Liquid


def test_simple_templates_need_no_syntax_check_and_broken_ones_still_fail() -> None:
    assert check_template("value {{ name }}") is None
    assert check_template("{{ name | }}") is not None


@pytest.mark.parametrize(
    "value", ["s", True, False, None, 0, 2.5, [1, "a", None, True, [2]], range(1, 4), {"k": [1]}, ("t", 1), b"x"]
)
def test_values_are_stringified_as_liquid_does(value: Any) -> None:
    assert liquid_string(value) == to_liquid_string(value, False)


def test_plain_templates_do_not_import_liquid() -> None:
    code = (
        "import sys, recipe_executor\n"
        "from recipe_executor import Context\n"
        "from recipe_executor.templates import render_template, check_template\n"
        "assert check_template('a {{ x.y }}') is None\n"
        "assert render_template('a {{ x.y }}', Context(artifacts={'x': {'y': 1}})) == 'a 1'\n"
        "assert 'liquid' not in sys.modules, 'liquid was imported'\n"
        "assert render_template('{{ x.y | plus: 1 }}', Context(artifacts={'x': {'y': 1}})) == '2'\n"
        "assert 'liquid' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
