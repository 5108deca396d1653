"""examples/llm_summarise runs offline with the test provider and reports usage."""

from __future__ import annotations

from pathlib import Path

import pytest

from recipe_executor.main import main

REPO = Path(__file__).resolve().parents[2]


def test_llm_summarise_example_runs_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(REPO)
    argv = ["examples/llm_summarise/summarise.json", "--config", "model=test/demo",
            "--context", f"output_root={tmp_path / 'out'}", "--log-dir", str(tmp_path / "logs")]
    assert main(argv) == 0
    summaries = sorted(p.name for p in (tmp_path / "out").glob("*.summary.md"))
    assert summaries == ["bees.summary.md", "octopuses.summary.md", "owls.summary.md"]
    assert "Bees communicate" in (tmp_path / "out" / "bees.summary.md").read_text()
    assert (tmp_path / "out" / "digest.md").read_text().startswith("# title: generated for")
    assert "test/demo: 4 calls, 4 requests" in capsys.readouterr().err
