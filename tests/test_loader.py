"""Loading recipes: files (JSON/YAML), text, dicts and models; clear load errors; the parse cache;
sub-recipe path resolution (working directory first, then beside the calling recipe)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from recipe_executor.errors import RecipeLoadError
from recipe_executor.loader import load_recipe, resolve_recipe_path
from recipe_executor.models import Recipe


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_load_recipe_from_json_file_keeps_its_path_and_label(in_tmp: Path) -> None:
    (in_tmp / "r.json").write_text('{"steps": []}')
    loaded = load_recipe("r.json")
    assert loaded.data == {"steps": []}
    assert loaded.label == "r.json"
    assert loaded.directory == Path(".")
    assert load_recipe(in_tmp / "r.json").path == in_tmp / "r.json"


@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_load_recipe_from_yaml_file(in_tmp: Path, suffix: str) -> None:
    (in_tmp / f"r{suffix}").write_text("steps:\n  - type: set_context\n    key: a\n    value: true\n")
    assert load_recipe(f"r{suffix}").data == {"steps": [{"type": "set_context", "key": "a", "value": True}]}


def test_load_recipe_from_json_and_yaml_text() -> None:
    assert load_recipe('  {"steps": [1]}').data == {"steps": [1]}
    assert load_recipe("steps:\n  - type: x\n").data == {"steps": [{"type": "x"}]}


def test_load_recipe_from_dict_and_model() -> None:
    data = {"steps": [{"type": "x", "a": 1}]}
    assert load_recipe(data).data is data
    assert load_recipe(Recipe.model_validate(data)).data["steps"] == [{"type": "x", "config": {"a": 1}}]


def test_load_recipe_missing_file_is_not_found_not_a_parse_error(in_tmp: Path) -> None:
    with pytest.raises(RecipeLoadError, match=r"^recipe file not found: 'missing\.json'$"):
        load_recipe("missing.json")
    with pytest.raises(RecipeLoadError, match="not found"):
        load_recipe(Path("missing.yaml"))


def test_load_recipe_bad_json_says_where(in_tmp: Path) -> None:
    (in_tmp / "bad.json").write_text('{"steps": [\n  {"type": "x",}\n]}')
    with pytest.raises(RecipeLoadError, match=r"bad\.json is not valid JSON: .* at line 2 column"):
        load_recipe("bad.json")


def test_load_recipe_bad_yaml_says_where(in_tmp: Path) -> None:
    (in_tmp / "bad.yaml").write_text("steps:\n  - type: [unclosed\n")
    with pytest.raises(RecipeLoadError, match=r"bad\.yaml is not valid YAML: .* at line \d+ column"):
        load_recipe("bad.yaml")


def test_load_recipe_top_level_must_be_an_object(in_tmp: Path) -> None:
    (in_tmp / "list.json").write_text("[1, 2]")
    with pytest.raises(RecipeLoadError, match=r"list\.json must hold an object with a 'steps' list, not list"):
        load_recipe("list.json")


def test_load_recipe_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="not int"):
        load_recipe(3)  # type: ignore[arg-type]


def test_load_recipe_caches_a_file_until_it_changes(in_tmp: Path) -> None:
    path = in_tmp / "r.json"
    path.write_text('{"steps": []}')
    first = load_recipe("r.json").data
    assert load_recipe(str(path)).data is first
    path.write_text('{"steps": [{"type": "changed"}]}')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert load_recipe("r.json").data == {"steps": [{"type": "changed"}]}


def test_resolve_recipe_path_prefers_the_working_directory_then_the_callers_folder(in_tmp: Path) -> None:
    (in_tmp / "lib").mkdir()
    (in_tmp / "lib" / "sub.json").write_text(json.dumps({"steps": []}))
    (in_tmp / "shared.json").write_text("{}")
    (in_tmp / "lib" / "shared.json").write_text("{}")
    assert resolve_recipe_path("sub.json", in_tmp / "lib") == in_tmp / "lib" / "sub.json"
    assert resolve_recipe_path("shared.json", in_tmp / "lib") == Path("shared.json")
    assert resolve_recipe_path("nowhere.json", in_tmp / "lib") is None
    assert resolve_recipe_path("sub.json", None) is None
