"""docpack_extract: context writes, rewritten outline on disk, the ignored output_key, unsafe archives."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import StepError, UnsafePathError
from recipe_executor.executor import Executor

pytestmark = pytest.mark.anyio


async def _run(steps: list[dict[str, Any]], artifacts: dict[str, Any] | None = None) -> Context:
    context = Context(artifacts or {})
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


def _pack(path: Path, outline: dict[str, Any], files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("outline.json", json.dumps(outline))
        for name, text in files.items():
            archive.writestr(name, text)
    return path


async def test_docpack_extract_stores_outline_and_resources_with_rendered_keys(tmp_path: Path) -> None:
    pack = _pack(tmp_path / "d.docpack", {"title": "T", "resources": [{"key": "r", "path": "r.md"}]}, {"r.md": "R"})
    step = {
        "type": "docpack_extract",
        "config": {
            "docpack_path": "{{ dir }}/d.docpack",
            "extract_dir": "{{ dir }}/ex",
            "outline_key": "{{ prefix }}_outline",
            "resources_key": "{{ prefix }}_files",
        },
    }
    context = await _run([step], {"dir": str(tmp_path), "prefix": "my"})
    extracted = (tmp_path / "ex" / "files" / "r.md").resolve()
    assert context["my_outline"]["resources"][0]["path"] == str(extracted)
    assert context["my_files"] == [str(extracted)]
    assert json.loads((tmp_path / "ex" / "outline.json").read_text()) == context["my_outline"]
    assert pack.exists()


async def test_docpack_extract_uses_upstream_default_keys(tmp_path: Path) -> None:
    _pack(tmp_path / "d.docpack", {"resources": []}, {})
    step = {
        "type": "docpack_extract",
        "config": {"docpack_path": str(tmp_path / "d.docpack"), "extract_dir": str(tmp_path)},
    }
    context = await _run([step])
    assert context["outline_data"] == {"resources": []}
    assert context["resource_files"] == []


async def test_docpack_extract_accepts_upstream_output_key_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _pack(tmp_path / "d.docpack", {}, {})
    config = {"docpack_path": str(tmp_path / "d.docpack"), "extract_dir": str(tmp_path / "ex"), "output_key": "result"}
    with caplog.at_level(logging.WARNING):
        context = await _run([{"type": "docpack_extract", "config": config}])
    assert "ignores output_key 'result'" in caplog.text
    assert "result" not in context


async def test_docpack_extract_zip_slip_fails_with_the_step_path_and_writes_nothing(tmp_path: Path) -> None:
    _pack(tmp_path / "d.docpack", {}, {"../../escape.md": "x"})
    config = {"docpack_path": str(tmp_path / "d.docpack"), "extract_dir": str(tmp_path / "a" / "b")}
    with pytest.raises(UnsafePathError) as info:
        await _run([{"type": "docpack_extract", "config": config}])
    assert "steps[0] docpack_extract: docpack member '../../escape.md' climbs out" in str(info.value)
    assert not (tmp_path / "a").exists()
    assert not (tmp_path / "escape.md").exists()


async def test_docpack_extract_missing_file_fails_with_the_step_path(tmp_path: Path) -> None:
    config = {"docpack_path": str(tmp_path / "none.docpack"), "extract_dir": str(tmp_path / "ex")}
    with pytest.raises(StepError, match=r"steps\[0\] docpack_extract: docpack file not found"):
        await _run([{"type": "docpack_extract", "config": config}])
