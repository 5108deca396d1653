"""The upstream recipe families that need no LLM run end to end from the corpus folder (the
working directory upstream recipes assume), with every output going to ``tmp_path``."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.context import Context
from recipe_executor.executor import Executor

pytestmark = pytest.mark.anyio

RESOURCES = "recipes/document_generator/examples/resources"


@pytest.fixture
def in_corpus(compat_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(compat_dir)
    return compat_dir


async def _run(recipe: str | dict[str, Any], artifacts: dict[str, Any]) -> Context:
    context = Context(artifacts)
    await Executor(logging.getLogger("compat")).execute(recipe, context)
    return context


async def test_extras_demo_writes_one_markdown_file_per_item(in_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    context = await _run(
        "recipes/example_templates/extras_demo.json",
        {"input_file": "recipes/example_templates/data/items.json", "output_root": str(out)},
    )
    assert sorted(p.name for p in out.iterdir()) == ["another_item.md", "sample_item.md"]
    sample = (out / "sample_item.md").read_text(encoding="utf-8")
    assert sample == (
        "# Sample Item\n\n- **Slug**: `sample_item`\n- **Date**: May 7, 2025\n- **Metadata**:\n"
        '```json\n{\n  "color": "red",\n  "size": "L"\n}\n```'
    )
    assert "- **Date**: Jan 1, 2025" in (out / "another_item.md").read_text(encoding="utf-8")
    items = json.loads((in_corpus / "recipes/example_templates/data/items.json").read_text(encoding="utf-8"))
    assert context["item.content"] == items  # the substeps never overwrite `item`, so results are the items
    assert context["item.content__errors"] == []


async def test_codebase_generator_read_components_yields_the_component_list(in_corpus: Path) -> None:
    context = await _run(
        "recipes/codebase_generator/recipes/read_components.json",
        {"project_blueprints_root": "blueprints/recipe_executor"},
    )
    components = context["components"]
    assert isinstance(components, list)
    assert {
        "id": "steps.loop",
        "deps": ["context", "executor", "protocols", "steps.base", "steps.registry", "utils.templates"],
        "refs": [],
    } in components


async def test_codebase_generator_read_component_resources_reads_spec_docs_deps_and_refs(in_corpus: Path) -> None:
    root = "blueprints/recipe_executor"
    component = {
        "id": "llm_utils.azure_openai",
        "deps": ["context", "steps.base"],
        "refs": ["AZURE_IDENTITY_CLIENT_DOCS.md"],
    }
    context = await _run(
        "recipes/codebase_generator/recipes/read_component_resources.json",
        {
            "project_blueprints_root": root,
            "refs_root": "ai_context",
            "component": component,
            "dev_guide_path": "ai_context/DEV_GUIDE_FOR_PYTHON.md",
        },
    )

    def text(path: str) -> str:
        return (in_corpus / path).read_text(encoding="utf-8")

    base = f"{root}/components/llm_utils/azure_openai/azure_openai"
    assert context["spec"] == text(f"{base}_spec.md")
    assert context["docs"] == text(f"{base}_docs.md")
    assert context["dep_docs"] == {
        f"{root}/components/context/context_docs.md": text(f"{root}/components/context/context_docs.md"),
        f"{root}/components/steps/base/base_docs.md": text(f"{root}/components/steps/base/base_docs.md"),
    }
    assert context["ref_docs"] == {
        "ai_context/AZURE_IDENTITY_CLIENT_DOCS.md": text("ai_context/AZURE_IDENTITY_CLIENT_DOCS.md")
    }
    assert context["implementation_philosophy"] == text("ai_context/IMPLEMENTATION_PHILOSOPHY.md")
    assert context["dev_guide"] == text("ai_context/DEV_GUIDE_FOR_PYTHON.md")  # the conditional took if_true


async def test_codebase_generator_read_component_resources_skips_the_dev_guide_when_none(in_corpus: Path) -> None:
    context = await _run(
        "recipes/codebase_generator/recipes/read_component_resources.json",
        {
            "project_blueprints_root": "blueprints/recipe_executor",
            "refs_root": "ai_context",
            "component": {"id": "config", "deps": [], "refs": []},
            "dev_guide_path": "none",
        },
    )
    assert "dev_guide" not in context
    assert context["spec"].startswith("#")


async def test_document_generator_load_outline_and_resources(in_corpus: Path) -> None:
    outline_file = "recipes/document_generator/examples/launch-documentation.json"
    context = await _run("recipes/document_generator/recipes/load_outline.json", {"outline_file": outline_file})
    outline = json.loads((in_corpus / outline_file).read_text(encoding="utf-8"))
    assert context["outline"] == outline
    toc = context["toc"]
    assert "## Table of Contents" in toc
    assert [line.strip()[2:] for line in toc.splitlines() if line.strip().startswith("- ")] == [
        s["title"].replace("&", "&amp;") for s in outline["sections"]
    ]

    await Executor(logging.getLogger("compat")).execute(
        "recipes/document_generator/recipes/load_resources.json", context
    )
    resources = context["resources"]
    assert [r["key"] for r in resources] == ["product_specs", "market_research", "pricing_strategy"]
    for resource in resources:
        assert resource["content"] == (in_corpus / resource["path"]).read_text(encoding="utf-8")
    assert context["resources__errors"] == []
    assert context["outline"] == outline  # the loop's per-item merges stay in the items


async def test_docpack_round_trip_feeds_the_document_generator(in_corpus: Path, tmp_path: Path) -> None:
    other = tmp_path / "elsewhere" / "product_specs.md"  # same base name as a corpus resource
    other.parent.mkdir()
    other.write_text("Specs from elsewhere.\n", encoding="utf-8")
    outline = {
        "title": "Launch Pack",
        "general_instruction": "unused: every section copies a resource",
        "resources": [
            {"key": "specs", "path": f"{RESOURCES}/product_specs.md", "description": "corpus specs"},
            {"key": "other_specs", "path": str(other), "description": "a second product_specs.md"},
            {"key": "pricing", "path": f"{RESOURCES}/pricing_strategy.md", "description": "pricing"},
        ],
        "sections": [
            {"title": "Specs", "resource_key": "specs", "draft": False},  # booleans broke upstream's overrides
            {
                "title": "Other",
                "resource_key": "other_specs",
                "sections": [{"title": "Pricing", "resource_key": "pricing"}],
            },
        ],
    }
    outline_path = tmp_path / "outline.json"
    outline_path.write_text(json.dumps(outline), encoding="utf-8")
    docpack = tmp_path / "packs" / "launch.docpack"
    # generate_docpack.json's docpack_create step, minus the LLM outline generation before it
    create = {
        "steps": [
            {
                "type": "docpack_create",
                "config": {
                    "outline_path": "{{ outline_file }}",
                    "resource_files": "{{ resources }}",
                    "output_path": "{{ docpack }}",
                    "output_key": "docpack_result",
                },
            }
        ]
    }
    created = await _run(
        create,
        {
            "outline_file": str(outline_path),
            "resources": [r["path"] for r in outline["resources"]],
            "docpack": str(docpack),
        },
    )
    assert created["docpack_result"] == {"output_path": str(docpack), "resource_count": 3, "success": True}

    out = tmp_path / "final"
    context = await _run(
        "recipes/document_generator/generate_document_from_docpack.json",
        {"docpack_path": str(docpack), "output_root": str(out)},
    )
    extracted = out / "docpack_extracted"
    assert sorted(p.name for p in (extracted / "files").iterdir()) == [
        "pricing_strategy.md",
        "product_specs.md",
        "product_specs_1.md",
    ]
    assert [r["content"] for r in context["resources"]] == [
        (in_corpus / RESOURCES / "product_specs.md").read_text(encoding="utf-8"),
        "Specs from elsewhere.\n",
        (in_corpus / RESOURCES / "pricing_strategy.md").read_text(encoding="utf-8"),
    ]
    document = (out / "OUTLINE.md").read_text(encoding="utf-8")
    assert document.startswith("# Launch Pack\n\n[document-generator]\n\n**Date:** ")
    specs = (in_corpus / RESOURCES / "product_specs.md").read_text(encoding="utf-8")
    pricing = (in_corpus / RESOURCES / "pricing_strategy.md").read_text(encoding="utf-8")
    positions = [
        document.index("\n\nSpecs\n\n" + specs),
        document.index("\n\nOther\n\nSpecs from elsewhere.\n"),
        document.index("\n\nPricing\n\n" + pricing),
    ]
    assert positions == sorted(positions)
