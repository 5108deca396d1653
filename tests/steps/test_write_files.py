"""write_files: rendered content and keys, containment under root, atomic all-or-nothing writes."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from recipe_executor.context import Context
from recipe_executor.errors import RecipeValidationError, StepError, UnsafePathError
from recipe_executor.executor import Executor
from recipe_executor.steps.write_files import write_all

pytestmark = pytest.mark.anyio


async def write(context: Context | None = None, **config: Any) -> Context:
    context = context if context is not None else Context()
    await Executor(logging.getLogger("test")).execute({"steps": [{"type": "write_files", "config": config}]}, context)
    return context


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


async def test_write_files_renders_path_and_content(tmp_path: Path) -> None:
    ctx = Context(artifacts={"name": "Ann", "out": str(tmp_path)})
    await write(ctx, root="{{ out }}", files=[{"path": "{{ name | downcase }}/hi.txt", "content": "Hello {{ name }}"}])
    assert (tmp_path / "ann" / "hi.txt").read_text(encoding="utf-8") == "Hello Ann"


async def test_write_files_writes_structured_content_as_json(tmp_path: Path) -> None:
    ctx = Context(artifacts={"data": {"ok": True, "items": [1, None]}})
    await write(ctx, root=str(tmp_path), files=[{"path": "a.json", "content": "{{ data }}"},
                                                 {"path": "b.json", "content": {"k": "{{ data.items | size }}"}}])
    assert (tmp_path / "a.json").read_text() == '{\n  "ok": true,\n  "items": [\n    1,\n    null\n  ]\n}'
    assert (tmp_path / "b.json").read_text() == '{\n  "k": 2\n}'


async def test_write_files_path_key_and_content_key_are_rendered_names(tmp_path: Path) -> None:
    ctx = Context(artifacts={"which": "doc", "doc_path": "x/doc.md", "doc_text": "# Doc {{ not rendered }}"})
    await write(ctx, root=str(tmp_path), files=[{"path_key": "{{ which }}_path", "content_key": "{{ which }}_text"}])
    # Values taken from the context are data: never rendered.
    assert (tmp_path / "x" / "doc.md").read_text() == "# Doc {{ not rendered }}"


class FileSpec(BaseModel):
    path: str
    content: str


async def test_write_files_files_key_accepts_objects_lists_and_models(tmp_path: Path) -> None:
    ctx = Context(artifacts={
        "one": {"path": "one.txt", "content": "1"},
        "many": [{"path": "a.txt", "content": "A"}, FileSpec(path="b.txt", content="B {{ x }}")],
        "key": "many",
    })
    await write(ctx, root=str(tmp_path), files_key="one")
    await write(ctx, root=str(tmp_path), files_key="{{ key }}")
    assert listing(tmp_path) == ["a.txt", "b.txt", "one.txt"]
    assert (tmp_path / "b.txt").read_text() == "B {{ x }}"


async def test_write_files_files_take_precedence_over_files_key(tmp_path: Path) -> None:
    ctx = Context(artifacts={"gen": {"path": "gen.txt", "content": "g"}})
    await write(ctx, root=str(tmp_path), files_key="gen", files=[{"path": "own.txt", "content": "o"}])
    assert listing(tmp_path) == ["own.txt"]


async def test_write_files_missing_files_key_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="files_key 'nope' is not in the context"):
        await write(root=str(tmp_path), files_key="nope")


async def test_write_files_needs_files_or_files_key() -> None:
    with pytest.raises(RecipeValidationError, match="give 'files' or 'files_key'"):
        await write(root=".")


async def test_write_files_malformed_files_key_value_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="must be an object with 'path' and 'content'"):
        await write(Context(artifacts={"gen": ["just text"]}), root=str(tmp_path), files_key="gen")


@pytest.mark.parametrize("bad", ["../escape.txt", "sub/../../escape.txt", "/tmp/escape-abs.txt"])
async def test_write_files_refuses_paths_outside_root_and_writes_nothing(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(UnsafePathError) as info:
        await write(root=str(root), files=[{"path": "ok.txt", "content": "x"}, {"path": bad, "content": "x"}])
    assert repr(bad) in str(info.value)
    assert "steps[0] write_files" in str(info.value)
    assert listing(tmp_path) == ["root"]


async def test_write_files_refuses_llm_paths_from_files_key_that_escape(tmp_path: Path) -> None:
    ctx = Context(artifacts={"gen": [{"path": "../../etc/evil", "content": "x"}]})
    with pytest.raises(UnsafePathError, match=r"'\.\./\.\./etc/evil'"):
        await write(ctx, root=str(tmp_path), files_key="gen")


async def test_write_files_refuses_a_symlink_that_leads_outside(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafePathError, match=r"'link/x\.txt'"):
        await write(root=str(root), files=[{"path": "link/x.txt", "content": "x"}])
    assert list(outside.iterdir()) == []


async def test_write_files_checks_every_path_before_writing_any(tmp_path: Path) -> None:
    (tmp_path / "taken").mkdir()
    with pytest.raises(StepError, match="'taken' names an existing folder"):
        await write(root=str(tmp_path), files=[{"path": "first.txt", "content": "1"},
                                               {"path": "taken", "content": "2"}])
    assert listing(tmp_path) == ["taken"]


async def test_write_files_path_ending_in_a_slash_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="'sub/' ends with a slash"):
        await write(root=str(tmp_path), files=[{"path": "sub/", "content": "x"}])
    assert listing(tmp_path) == []


async def test_write_files_path_through_a_file_is_refused_before_writing(tmp_path: Path) -> None:
    (tmp_path / "plain").write_text("p")
    with pytest.raises(StepError, match="which is a file, not a folder"):
        await write(root=str(tmp_path), files=[{"path": "a.txt", "content": "1"},
                                               {"path": "plain/b.txt", "content": "2"}])
    assert listing(tmp_path) == ["plain"]


def test_write_all_failure_mid_list_leaves_no_partial_or_temp_file(tmp_path: Path) -> None:
    """A write that fails after earlier files were staged leaves every target untouched."""
    (tmp_path / "keep.txt").write_text("old")
    plan = [(tmp_path / "keep.txt", "new"), (tmp_path / "fresh.txt", "x"), (tmp_path / ("n" * 300), "y")]
    with pytest.raises(OSError, match="too long"):
        write_all(plan)
    assert (tmp_path / "keep.txt").read_text() == "old"
    assert listing(tmp_path) == ["keep.txt"]


def test_write_all_failure_while_writing_content_removes_temp_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("old")
    plan = [(tmp_path / "a.txt", "fine"), (tmp_path / "sub" / "b.txt", "bad \ud800 surrogate")]
    with pytest.raises(UnicodeEncodeError):
        write_all(plan)
    assert (tmp_path / "a.txt").read_text() == "old"
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == ["a.txt"]


async def test_write_files_overwrites_atomically_and_keeps_the_file_mode(tmp_path: Path) -> None:
    target = tmp_path / "script.sh"
    target.write_text("old")
    target.chmod(0o750)
    await write(root=str(tmp_path), files=[{"path": "script.sh", "content": "new"}])
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o750
    assert listing(tmp_path) == ["script.sh"]


async def test_write_files_new_files_get_the_usual_umask_mode(tmp_path: Path) -> None:
    await write(root=str(tmp_path), files=[{"path": "new.txt", "content": "x"}])
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == 0o666 & ~mask


async def test_write_files_none_content_writes_an_empty_file(tmp_path: Path) -> None:
    await write(Context(artifacts={"v": None}), root=str(tmp_path), files=[{"path": "e.txt", "content_key": "v"}])
    assert (tmp_path / "e.txt").read_text() == ""


async def test_write_files_empty_root_means_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    files = [{"path": "w.txt", "content": "w"}]
    await write(Context(artifacts={"output_root": ""}), root="{{ output_root }}", files=files)
    assert (tmp_path / "w.txt").read_text() == "w"
