"""Whole-tree validation: every problem at once with its step path, did-you-mean hints, Liquid
syntax, sub-recipes with static paths (recursively, cycle-safe), strict mode."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.loader import load_recipe
from recipe_executor.validation import validate_recipe


def problems(recipe: Any, *, strict: bool = False) -> list[tuple[str, str]]:
    return [(p.severity, str(p)) for p in validate_recipe(load_recipe(recipe), strict=strict)]


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_validation_accepts_a_valid_recipe_with_documentation_fields() -> None:
    recipe = {
        "name": "n",
        "description": "d",
        "inputs": {"x": "y"},
        "outputs": [],
        "env_vars": ["HOME"],
        "steps": [{"type": "set_context", "config": {"key": "a", "value": "{{ b | default: 'c' }}"}}],
    }
    assert problems(recipe) == []


def test_validation_reports_every_problem_with_its_path() -> None:
    recipe = {
        "steps": [
            {"type": "read_file", "config": {}},
            "not a step",
            {"config": {}},
            {"type": "parallel", "config": {"substeps": [{"type": "set_context", "config": {"key": "k"}}]}},
            {"type": "parallel", "substeps": [], "max_concurrency": "lots"},
        ]
    }
    found = problems(recipe)
    assert [severity for severity, _ in found] == ["error"] * 5
    assert found[0][1] == "<recipe> › steps[0] read_file: unknown step type 'read_file'; did you mean 'read_files'?"
    assert found[1][1].startswith("<recipe> › steps[1]: a step must be an object with a 'type'")
    assert found[2][1].startswith("<recipe> › steps[2]: a step needs a non-empty string 'type'")
    assert found[3][1] == (
        "<recipe> › steps[3] parallel › substeps[0] set_context: invalid config: missing required field 'value'"
    )
    assert found[4][1].startswith("<recipe> › steps[4] parallel: invalid config: field 'max_concurrency'")


def test_validation_unknown_config_key_is_a_warning_with_a_suggestion() -> None:
    recipe = {"steps": [{"type": "parallel", "config": {"substeps": [], "max_concurency": 2}}]}
    message = "<recipe> › steps[0] parallel: unknown config key 'max_concurency'; did you mean 'max_concurrency'?"
    assert problems(recipe) == [("warning", message)]


def test_validation_strict_turns_unknown_keys_into_errors() -> None:
    recipe = {"stepz": 1, "steps": [{"type": "set_context", "key": "a", "value": 1, "merge_model": "x"}]}
    found = problems(recipe, strict=True)
    assert [severity for severity, _ in found] == ["error", "error"]
    assert "unknown top-level key 'stepz'; did you mean 'steps'?" in found[0][1]
    assert "unknown config key 'merge_model'" in found[1][1]


def test_validation_finds_liquid_syntax_errors_in_nested_values() -> None:
    recipe = {
        "steps": [
            {"type": "set_context", "config": {"key": "a", "value": {"deep": ["ok", "{% for x in %}"]}}},
            {"type": "parallel", "substeps": [{"type": "set_context", "key": "b", "value": "{{ 'A' if x else 'B' }}"}]},
        ]
    }
    found = problems(recipe)
    assert len(found) == 2
    assert found[0][1].startswith("<recipe> › steps[0] set_context: value: invalid Liquid template '{% for x in %}'")
    assert found[1][1].startswith("<recipe> › steps[1] parallel › substeps[0] set_context: value: invalid Liquid")


def test_validation_checks_templates_in_dict_keys_too() -> None:
    recipe = {"steps": [{"type": "set_context", "key": "a", "value": {"{{ name": "x", "{{ ok }}": "y"}}]}
    found = problems(recipe)
    assert found == [("error", "<recipe> › steps[0] set_context: value: invalid Liquid template '{{ name': "
                               "expected '}}', found end of file")]


def test_validation_requires_a_steps_list() -> None:
    assert problems({"name": "x"}) == [("error", "<recipe>: a recipe needs a 'steps' list")]
    assert problems({"steps": {}}) == [("error", "<recipe>: 'steps' must be a list, not dict")]


def test_validation_checks_static_sub_recipes_recursively(in_tmp: Path) -> None:
    (in_tmp / "sub").mkdir()
    (in_tmp / "sub" / "inner.json").write_text(json.dumps({"steps": [{"type": "nope"}]}))
    (in_tmp / "sub" / "middle.json").write_text(
        json.dumps({"steps": [{"type": "execute_recipe", "config": {"recipe_path": "inner.json"}}]})
    )
    main = {"steps": [{"type": "execute_recipe", "config": {"recipe_path": "sub/middle.json"}}]}
    (in_tmp / "main.json").write_text(json.dumps(main))
    assert problems("main.json") == [
        (
            "error",
            "main.json › steps[0] execute_recipe (sub/middle.json) › steps[0] execute_recipe (inner.json) › "
            "steps[0] nope: unknown step type 'nope'",
        )
    ]


def test_validation_survives_sub_recipes_that_call_each_other(in_tmp: Path) -> None:
    def call(path: str) -> dict[str, Any]:
        return {"type": "execute_recipe", "config": {"recipe_path": path}}

    (in_tmp / "a.json").write_text(json.dumps({"steps": [call("b.json")]}))
    (in_tmp / "b.json").write_text(json.dumps({"steps": [call("a.json"), {"type": "x"}]}))
    found = problems("a.json")
    assert found == [("error", "a.json › steps[0] execute_recipe (b.json) › steps[1] x: unknown step type 'x'")]


def test_validation_reports_a_missing_static_sub_recipe(in_tmp: Path) -> None:
    recipe = {"steps": [{"type": "execute_recipe", "config": {"recipe_path": "nowhere.json"}}]}
    found = problems(recipe)
    assert len(found) == 1 and "sub-recipe file not found: 'nowhere.json'" in found[0][1]


def test_validation_skips_templated_sub_recipe_paths(in_tmp: Path) -> None:
    recipe = {"steps": [{"type": "execute_recipe", "config": {"recipe_path": "{{ root }}/x.json"}}]}
    assert problems(recipe) == []


def test_validation_reports_an_unparseable_sub_recipe(in_tmp: Path) -> None:
    (in_tmp / "bad.json").write_text("{ not json")
    found = problems({"steps": [{"type": "execute_recipe", "recipe_path": "bad.json"}]})
    assert len(found) == 1 and "bad.json is not valid JSON" in found[0][1]


def test_validation_is_linear_in_the_number_of_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from recipe_executor import validation

    calls = [0]
    real = validation.normalize_step

    def counting(raw: object) -> tuple[str, dict[str, Any]]:
        calls[0] += 1
        return real(raw)

    monkeypatch.setattr(validation, "normalize_step", counting)
    steps = [{"type": "set_context", "config": {"key": f"k{i}", "value": "{{ v }}"}} for i in range(2000)]
    assert problems({"steps": [{"type": "parallel", "substeps": steps}, *steps]}) == []
    assert calls[0] == 4001
