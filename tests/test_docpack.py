"""The .docpack format: layout, duplicate names, zip-slip refusal and outline path rewriting."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest

from recipe_executor.docpack import create_docpack, extract_docpack
from recipe_executor.errors import StepError, UnsafePathError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _zip(path: Path, members: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path


def test_docpack_round_trip_maps_duplicate_names_to_their_own_files(tmp_path: Path) -> None:
    a = _write(tmp_path / "a" / "r.md", "from A")
    b = _write(tmp_path / "b" / "r.md", "from B")
    outline = {"title": "T", "resources": [{"key": "ra", "path": str(a)}, {"key": "rb", "path": str(b)}]}
    created = create_docpack(outline, [str(a), str(b)], tmp_path / "out" / "x.docpack")

    with zipfile.ZipFile(created.path) as archive:
        assert sorted(archive.namelist()) == ["outline.json", "r.md", "r_1.md"]
        packed = json.loads(archive.read("outline.json"))
    assert [r["path"] for r in packed["resources"]] == ["r.md", "r_1.md"]
    assert outline["resources"][0]["path"] == str(a)  # the caller's outline is not changed

    result = extract_docpack(created.path, tmp_path / "ex")
    by_key = {r["key"]: Path(r["path"]) for r in result.outline["resources"]}
    assert by_key["ra"].read_text() == "from A"
    assert by_key["rb"].read_text() == "from B"
    assert by_key["rb"] == (tmp_path / "ex" / "files" / "r_1.md").resolve()
    assert result.resource_files == [str(by_key["ra"]), str(by_key["rb"])]
    on_disk = json.loads((tmp_path / "ex" / "outline.json").read_text())
    assert on_disk == result.outline  # rewritten on disk too, so re-reading it finds the files


def test_docpack_relative_paths_resolve_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "docs" / "spec.md", "spec")
    outline = {"resources": [{"key": "s", "path": "docs/spec.md"}]}
    create_docpack(outline, ["./docs/spec.md"], Path("x.docpack"))
    result = extract_docpack(Path("x.docpack"), Path("out"))
    assert Path(result.outline["resources"][0]["path"]).read_text() == "spec"


def test_docpack_packs_outline_resources_missing_from_the_list(tmp_path: Path) -> None:
    spec = _write(tmp_path / "spec.md", "spec")
    created = create_docpack({"resources": [{"path": str(spec)}, {"path": "nowhere.md"}]}, [], tmp_path / "x.docpack")
    assert created.members == {str(spec): "spec.md"}
    assert created.unmatched == ["nowhere.md"]


def test_docpack_resource_named_outline_json_does_not_clobber_the_outline(tmp_path: Path) -> None:
    res = _write(tmp_path / "outline.json", '{"not": "the outline"}')
    outline = {"title": "T", "resources": [{"path": str(res)}]}
    created = create_docpack(outline, [str(res)], tmp_path / "o" / "x.docpack")
    result = extract_docpack(created.path, tmp_path / "ex")
    assert result.outline["title"] == "T"
    assert Path(result.resource_files[0]).name == "outline_1.json"


def test_docpack_missing_resource_file_is_an_error_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(StepError, match=r"docpack resource file .*missing\.md' is not found"):
        create_docpack({}, [str(tmp_path / "missing.md")], tmp_path / "x.docpack")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("member", "fragment"),
    [
        ("../evil.md", "climbs out with '..'"),
        ("files/../../evil.md", "climbs out with '..'"),
        ("/etc/evil.md", "has an absolute path"),
        ("C:/evil.md", "has an absolute path"),
        ("\\evil.md", "has an absolute path"),
    ],
)
def test_docpack_extract_refuses_unsafe_member_names_before_writing(tmp_path: Path, member: str, fragment: str) -> None:
    pack = _zip(tmp_path / "bad.docpack", {"outline.json": "{}", "good.md": "ok", member: "evil"})
    with pytest.raises(UnsafePathError, match=re.escape(fragment)):
        extract_docpack(pack, tmp_path / "ex")
    assert not (tmp_path / "ex").exists()
    assert not (tmp_path / "evil.md").exists()


def test_docpack_extract_refuses_outline_paths_outside_the_archive(tmp_path: Path) -> None:
    outline = {"resources": [{"path": "/etc/hostname"}]}
    pack = _zip(tmp_path / "x.docpack", {"outline.json": json.dumps(outline)})
    with pytest.raises(UnsafePathError, match="points at '/etc/hostname', which is outside the docpack"):
        extract_docpack(pack, tmp_path / "ex")
    assert not (tmp_path / "ex").exists()


def test_docpack_extract_leaves_unknown_relative_outline_paths_and_reports_them(tmp_path: Path) -> None:
    outline = {"resources": [{"path": "a.md"}, {"path": "gone.md"}, {"key": "no path"}]}
    pack = _zip(tmp_path / "x.docpack", {"outline.json": json.dumps(outline), "a.md": "A", "extra.md": "E"})
    result = extract_docpack(pack, tmp_path / "ex")
    assert result.unmatched == ["gone.md"]
    assert result.outline["resources"][1]["path"] == "gone.md"
    assert [Path(p).name for p in result.resource_files] == ["a.md"]
    assert (tmp_path / "ex" / "files" / "extra.md").read_text() == "E"  # unreferenced members are extracted too


@pytest.mark.parametrize(
    ("make", "fragment"),
    [
        (lambda p: p.write_text("not a zip"), "is not a valid .docpack (zip) archive"),
        (lambda p: _zip(p, {"a.md": "x"}), "has no outline.json"),
        (lambda p: _zip(p, {"outline.json": "{oops"}), "is not valid JSON"),
        (lambda p: _zip(p, {"outline.json": "[1]"}), "must hold an object, not list"),
    ],
)
def test_docpack_extract_rejects_broken_archives(tmp_path: Path, make: object, fragment: str) -> None:
    pack = tmp_path / "x.docpack"
    make(pack)  # type: ignore[operator]
    with pytest.raises(StepError, match=re.escape(fragment)):
        extract_docpack(pack, tmp_path / "ex")
    assert not (tmp_path / "ex").exists()


def test_docpack_extract_needs_an_existing_docpack_file(tmp_path: Path) -> None:
    with pytest.raises(StepError, match="docpack file not found"):
        extract_docpack(tmp_path / "missing.docpack", tmp_path / "ex")
    _zip(tmp_path / "x.zip", {"outline.json": "{}"})
    with pytest.raises(StepError, match=r"is not a \.docpack file"):
        extract_docpack(tmp_path / "x.zip", tmp_path / "ex")
