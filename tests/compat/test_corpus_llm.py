"""The LLM families of the upstream corpus run end to end offline with the test provider.

Left out: example_content_writer (the model chooses the output path relative to the working
directory, which here is the read-only corpus), and the recipes that need external binaries or
inputs the corpus lacks (example_complex, example_mcp_step, example_brave_search,
example_builtin_tools, codebase_generator, recipe_creator).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from recipe_executor.main import main

CASES = {
    "document_generator": [
        "recipes/document_generator/document_generator_recipe.json",
        "--context",
        "outline_file=recipes/document_generator/examples/launch-documentation.json",
    ],
    "example_simple": [
        "recipes/example_simple/code_from_spec_recipe.json",
        "--context",
        "spec_file=recipes/example_simple/specs/hello-world-spec.txt",
    ],
    "example_quarterly_report": ["recipes/example_quarterly_report/demo_quarterly_report_recipe.json"],
    "generate_from_files": ["recipes/utilities/generate_from_files.json"],
    "recipe_to_mermaid": [
        "recipes/recipe_to_mermaid/generate_mermaid_recipe.json",
        "--context",
        "recipe_path=recipes/example_simple/code_from_spec_recipe.json",
    ],
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_corpus_llm_recipe_runs_offline(
    name: str, compat_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(compat_dir)
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / "out"
    argv = [
        *CASES[name],
        "--context",
        "model=test/compat",
        f"output_root={out}",
        "--log-dir",
        str(tmp_path / "logs"),
        "--log-level",
        "WARNING",
    ]
    assert main(argv) == 0, (tmp_path / "logs" / "error.log").read_text() if (tmp_path / "logs").exists() else ""
    written = [p for p in out.rglob("*") if p.is_file()]
    assert written, f"{name} wrote nothing under {out}"
    assert not any(p.name.startswith(".") and p.suffix == ".tmp" for p in written)
