"""read_files: paths as string, comma list, list or glob; parsing; optional; merge modes."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, StepError
from recipe_executor.executor import Executor

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Paths are relative to the working directory, as upstream; run each test in its own."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("alpha", encoding="utf-8")
    (tmp_path / "docs" / "b.md").write_text("beta", encoding="utf-8")
    return tmp_path


async def read(context: Context | None = None, **config: Any) -> Any:
    context = context if context is not None else Context()
    config.setdefault("content_key", "out")
    await Executor(logging.getLogger("test")).execute({"steps": [{"type": "read_files", "config": config}]}, context)
    return context[config["content_key"]] if "{" not in config["content_key"] else context


async def test_read_files_reads_one_file_as_text() -> None:
    assert await read(path="docs/a.md") == "alpha"


async def test_read_files_path_is_a_template() -> None:
    assert await read(Context(artifacts={"name": "b"}), path="docs/{{ name }}.md") == "beta"


async def test_read_files_comma_list_concatenates_with_path_headers() -> None:
    assert await read(path="docs/a.md, docs/b.md") == "docs/a.md\nalpha\ndocs/b.md\nbeta"


async def test_read_files_list_items_are_rendered_and_not_comma_split(in_tmp: Path) -> None:
    (in_tmp / "docs" / "c,d.md").write_text("comma", encoding="utf-8")
    ctx = Context(artifacts={"n": "a"})
    assert await read(ctx, path=["docs/{{ n }}.md", "docs/c,d.md"], merge_mode="dict") == {
        "docs/a.md": "alpha",
        "docs/c,d.md": "comma",
    }


async def test_read_files_expression_yielding_a_list_reads_each_item() -> None:
    ctx = Context(artifacts={"files": ["docs/a.md", "docs/b.md"]})
    assert await read(ctx, path="{{ files }}", merge_mode="dict") == {"docs/a.md": "alpha", "docs/b.md": "beta"}


async def test_read_files_glob_matches_sorted_files_only(in_tmp: Path) -> None:
    (in_tmp / "docs" / "sub").mkdir()
    (in_tmp / "docs" / "sub" / "c.md").write_text("gamma", encoding="utf-8")
    assert await read(path="docs/*", merge_mode="dict") == {"docs/a.md": "alpha", "docs/b.md": "beta"}
    deep = await read(path="docs/**/*.md", merge_mode="dict")
    assert deep == {"docs/a.md": "alpha", "docs/b.md": "beta", os.path.join("docs", "sub", "c.md"): "gamma"}


async def test_read_files_parses_json_and_yaml(in_tmp: Path) -> None:
    (in_tmp / "data.json").write_text(json.dumps({"ok": True, "n": None}), encoding="utf-8")
    (in_tmp / "data.yaml").write_text("items:\n  - 1\n  - two\n", encoding="utf-8")
    assert await read(path="data.json") == {"ok": True, "n": None}
    assert await read(path="data.yaml") == {"items": [1, "two"]}


async def test_read_files_keeps_text_of_unparsable_json(in_tmp: Path) -> None:
    (in_tmp / "broken.json").write_text("{not json", encoding="utf-8")
    assert await read(path="broken.json") == "{not json"


async def test_read_files_concat_serialises_parsed_files_as_json(in_tmp: Path) -> None:
    (in_tmp / "data.json").write_text('{"k": 1}', encoding="utf-8")
    assert await read(path="data.json,docs/a.md") == 'data.json\n{"k": 1}\ndocs/a.md\nalpha'


async def test_read_files_dict_mode_is_a_dict_when_a_glob_matches_one_file() -> None:
    assert await read(path="docs/a*.md", merge_mode="dict") == {"docs/a.md": "alpha"}


async def test_read_files_dict_mode_is_a_dict_when_several_paths_find_one_file() -> None:
    assert await read(path="docs/a.md,missing.md", merge_mode="dict", optional=True) == {"docs/a.md": "alpha"}


async def test_read_files_dict_mode_is_a_dict_when_a_loop_builds_a_one_item_list() -> None:
    ctx = Context(artifacts={"names": ["a"]})
    path = "{% for n in names %}docs/{{ n }}.md{% unless forloop.last %},{% endunless %}{% endfor %}"
    assert await read(ctx, path=path, merge_mode="dict") == {"docs/a.md": "alpha"}


async def test_read_files_dict_mode_with_one_named_file_yields_its_content_as_upstream(in_tmp: Path) -> None:
    (in_tmp / "components.json").write_text('[{"id": "a"}]', encoding="utf-8")
    ctx = Context(artifacts={"root": "."})
    assert await read(ctx, path="{{ root }}/components.json", merge_mode="dict") == [{"id": "a"}]


async def test_read_files_dict_mode_with_nothing_found_is_an_empty_dict() -> None:
    assert await read(path="missing.md", merge_mode="dict", optional=True) == {}


async def test_read_files_concat_with_nothing_found_is_empty_text() -> None:
    assert await read(path="missing.md, other.md", optional=True) == ""


async def test_read_files_merge_mode_and_optional_are_templates() -> None:
    ctx = Context(artifacts={"mode": "dict", "opt": "true"})
    assert await read(ctx, path="docs/a.md,missing.md", merge_mode="{{ mode }}", optional="{{ opt }}") == {
        "docs/a.md": "alpha"
    }


async def test_read_files_content_key_is_a_template() -> None:
    ctx = await read(Context(artifacts={"name": "spec"}), path="docs/a.md", content_key="{{ name }}_text")
    assert ctx["spec_text"] == "alpha"


async def test_read_files_missing_file_fails_naming_it() -> None:
    with pytest.raises(StepError, match=r"file not found: 'missing.md'"):
        await read(path="docs/a.md,missing.md")


async def test_read_files_unmatched_glob_fails_naming_the_pattern() -> None:
    with pytest.raises(StepError, match=r"no file matches 'nothing/\*\.md'"):
        await read(path="nothing/*.md")


async def test_read_files_optional_missing_file_is_skipped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        assert await read(path="missing.md,docs/b.md", optional=True) == "beta"
    assert "missing.md" in caplog.text


async def test_read_files_binary_file_is_a_clear_error(in_tmp: Path) -> None:
    (in_tmp / "img.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(StepError, match=r"'img.png' looks binary"):
        await read(path="img.png")


async def test_read_files_undecodable_file_is_a_clear_error(in_tmp: Path) -> None:
    (in_tmp / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(StepError, match=r"'latin.txt' is not UTF-8 text"):
        await read(path="latin.txt")


async def test_read_files_drops_a_utf8_bom_so_json_parses(in_tmp: Path) -> None:
    (in_tmp / "bom.json").write_bytes(b'\xef\xbb\xbf{"a": 1}')
    assert await read(path="bom.json") == {"a": 1}


async def test_read_files_directory_path_is_a_clear_error() -> None:
    with pytest.raises(StepError, match="'docs' is a directory"):
        await read(path="docs")


async def test_read_files_unknown_merge_mode_is_reported_before_running() -> None:
    with pytest.raises(RecipeValidationError, match="merge_mode must be 'concat' or 'dict'"):
        await read(path="docs/a.md", merge_mode="join")


async def test_read_files_merge_mode_rendering_to_unknown_value_fails() -> None:
    with pytest.raises(StepError, match="merge_mode must be 'concat' or 'dict', not 'zip'"):
        await read(Context(artifacts={"m": "zip"}), path="docs/a.md", merge_mode="{{ m }}")


async def test_read_files_error_carries_the_step_path() -> None:
    with pytest.raises(StepError) as info:
        await read(path="missing.md")
    assert "steps[0] read_files: file not found: 'missing.md'" in str(info.value)
