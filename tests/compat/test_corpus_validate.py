"""Every recipe of the upstream corpus validates with ``recipe-executor validate`` from the corpus
folder, as upstream users run them; a broken recipe reports exactly its problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from recipe_executor.loader import load_recipe
from recipe_executor.main import main
from recipe_executor.steps.registry import STEP_REGISTRY
from recipe_executor.validation import validate_recipe

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "compat" / "recipe-tool"


def _recipes() -> list[str]:
    if not CORPUS.is_dir():
        return []
    found = []
    for path in sorted((CORPUS / "recipes").rglob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        if isinstance(data, dict) and "steps" in data:
            found.append(str(path.relative_to(CORPUS)))
    return found


RECIPES = _recipes()


def test_corpus_has_the_recipes_we_expect(compat_dir: Path) -> None:
    assert len(RECIPES) >= 25
    assert "recipes/example_templates/extras_demo.json" in RECIPES


@pytest.mark.parametrize("recipe", RECIPES)
def test_corpus_recipe_validates(
    recipe: str, compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(compat_dir)
    for step_type in ("llm_generate", "mcp"):
        if step_type not in STEP_REGISTRY and f'"{step_type}"' in Path(recipe).read_text(encoding="utf-8"):
            pytest.skip(f"{step_type} is not registered in this checkout")
    code = main(["validate", recipe, "--log-dir", str(tmp_path / "logs")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "valid" in out
    problems = validate_recipe(load_recipe(recipe))
    assert [str(p) for p in problems] == []  # not even a warning


def test_corpus_recipe_with_an_unknown_step_type_reports_exactly_that(
    compat_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    data = json.loads(Path("recipes/example_templates/extras_demo.json").read_text(encoding="utf-8"))
    data["steps"][1]["config"]["substeps"].append({"type": "shell", "config": {"command": "ls"}})
    problems = validate_recipe(load_recipe(data))
    assert [str(p) for p in problems] == ["<recipe> › steps[1] loop › substeps[4] shell: unknown step type 'shell'"]


def test_corpus_recipe_with_a_liquid_syntax_error_reports_exactly_that(
    compat_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    data = json.loads(Path("recipes/codebase_generator/recipes/read_component_resources.json").read_text())
    data["steps"][5]["config"]["condition"] = "{% if dev_guide_path != 'none' %}true{% else %}false"
    problems = validate_recipe(load_recipe(data))
    assert len(problems) == 1
    assert str(problems[0]).startswith("<recipe> › steps[5] conditional: condition: invalid Liquid template")
