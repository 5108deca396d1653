"""contained_path: paths built from templates or LLM output stay inside their root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recipe_executor.errors import UnsafePathError
from recipe_executor.paths import contained_path


def test_contained_path_joins_a_relative_path_under_root(tmp_path: Path) -> None:
    assert contained_path(tmp_path, "a/b.txt") == tmp_path.resolve() / "a" / "b.txt"


def test_contained_path_allows_dotdot_that_stays_inside(tmp_path: Path) -> None:
    assert contained_path(tmp_path, "a/../b.txt") == tmp_path.resolve() / "b.txt"


@pytest.mark.parametrize("bad", ["../escape.txt", "a/../../escape.txt", "/etc/passwd"])
def test_contained_path_refuses_paths_leaving_root_and_names_them(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError) as info:
        contained_path(tmp_path / "root", bad, what="file path")
    assert repr(bad) in str(info.value)
    assert "outside" in str(info.value)


def test_contained_path_allows_an_absolute_path_inside_root(tmp_path: Path) -> None:
    inside = tmp_path / "x.txt"
    assert contained_path(tmp_path, str(inside)) == inside.resolve()


def test_contained_path_refuses_a_symlink_pointing_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "link")
    with pytest.raises(UnsafePathError, match=r"link/f\.txt"):
        contained_path(root, "link/f.txt")


def test_contained_path_treats_tilde_as_an_ordinary_folder_name(tmp_path: Path) -> None:
    assert contained_path(tmp_path, "~/notes.txt") == tmp_path.resolve() / "~" / "notes.txt"


@pytest.mark.parametrize("bad", ["", "   ", "a\x00b"])
def test_contained_path_refuses_empty_or_nul_paths(tmp_path: Path, bad: str) -> None:
    with pytest.raises(UnsafePathError):
        contained_path(tmp_path, bad)
