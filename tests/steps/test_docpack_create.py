"""docpack_create: rendering of its fields, resource_files shapes, the result entry and errors."""

from __future__ import annotations

import json
import logging
import zipfile
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.errors import StepError
from recipe_executor.executor import Executor

pytestmark = pytest.mark.anyio


def _create(**config: Any) -> dict[str, Any]:
    return {"type": "docpack_create", "config": config}


async def _run(steps: list[dict[str, Any]], artifacts: dict[str, Any] | None = None) -> Context:
    context = Context(artifacts or {})
    await Executor(logging.getLogger("test")).execute({"steps": steps}, context)
    return context


@pytest.fixture
def sources(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "src").mkdir()
    a = tmp_path / "src" / "a.md"
    b = tmp_path / "src" / "b.md"
    a.write_text("A")
    b.write_text("B")
    outline = tmp_path / "src" / "outline.json"
    outline.write_text(
        json.dumps({"title": "T", "resources": [{"key": "a", "path": str(a)}, {"key": "b", "path": str(b)}]})
    )
    return {"a": str(a), "b": str(b), "outline": str(outline), "out": str(tmp_path / "out")}


def _members(path: str) -> list[str]:
    with zipfile.ZipFile(path) as archive:
        return sorted(archive.namelist())


@pytest.mark.parametrize(
    "resource_files",
    [
        "{{ resources }}",  # a context list passes through
        "{{ a }},{{ b }}",  # a rendered comma-separated string
        ["{{ a }}", "{{ b }}"],  # list entries are rendered (upstream used them verbatim)
        ["{{ a }}, {{ b }}"],
        "{{ json_list }}",  # JSON text for a list, as --context resources='["a.md","b.md"]' gives
    ],
)
async def test_docpack_create_accepts_every_resource_files_shape(sources: dict[str, str], resource_files: Any) -> None:
    artifacts = {**sources, "resources": [sources["a"], sources["b"]]}
    artifacts["json_list"] = json.dumps(artifacts["resources"])
    context = await _run(
        [
            _create(
                outline_path="{{ outline }}",
                resource_files=resource_files,
                output_path="{{ out }}/pack/doc.docpack",
                output_key="{{ 'result' }}",
            )
        ],
        artifacts,
    )
    output = f"{sources['out']}/pack/doc.docpack"
    assert _members(output) == ["a.md", "b.md", "outline.json"]
    assert context["result"] == {"output_path": output, "resource_count": 2, "success": True}


async def test_docpack_create_without_output_key_stores_nothing(sources: dict[str, str]) -> None:
    context = await _run(
        [
            _create(
                outline_path=sources["outline"],
                resource_files=[sources["a"]],
                output_path=f"{sources['out']}/x.docpack",
            )
        ]
    )
    assert context.dict() == {}
    assert _members(f"{sources['out']}/x.docpack") == ["a.md", "b.md", "outline.json"]  # b comes from the outline


@pytest.mark.parametrize(
    ("outline_text", "fragment"),
    [
        (None, "outline file not found"),
        ("{broken", "is not valid JSON"),
        ("[1, 2]", "must hold a JSON object, not list"),
    ],
)
async def test_docpack_create_unreadable_outline_fails_with_the_step_path(
    tmp_path: Path, outline_text: str | None, fragment: str
) -> None:
    outline = tmp_path / "outline.json"
    if outline_text is not None:
        outline.write_text(outline_text)
    step = _create(outline_path=str(outline), resource_files=[], output_path=str(tmp_path / "out" / "x.docpack"))
    with pytest.raises(StepError) as info:
        await _run([step])
    assert "steps[0] docpack_create:" in str(info.value)
    assert fragment in str(info.value)
    assert not (tmp_path / "out").exists()


async def test_docpack_create_missing_resource_fails_and_writes_no_archive(sources: dict[str, str]) -> None:
    step = _create(
        outline_path=sources["outline"], resource_files="{{ a }},nope.md", output_path=f"{sources['out']}/x.docpack"
    )
    with pytest.raises(StepError, match=r"docpack resource file 'nope\.md' is not found"):
        await _run([step], sources)
    assert not Path(sources["out"], "x.docpack").exists()
