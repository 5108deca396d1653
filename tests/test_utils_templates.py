"""Upstream's ``recipe_executor.utils.templates`` path, used by custom steps written for upstream."""

from __future__ import annotations

import pytest

from recipe_executor import Context
from recipe_executor.utils.templates import render_template


def test_upstream_render_template_path_renders_against_a_context() -> None:
    context = Context(artifacts={"name": "Hello There", "items": ["a", "b"]})
    assert render_template("{{ name | snakecase }}: {{ items | join: ',' }}", context) == "hello_there: a,b"


def test_upstream_render_template_errors_are_value_errors_as_upstream() -> None:
    with pytest.raises(ValueError, match="invalid Liquid template"):
        render_template("{% if %}", Context())
