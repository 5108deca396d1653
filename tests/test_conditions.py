"""The safe condition language: truth table, operators, functions, and refusal of anything else."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from recipe_executor.conditions import check_condition, evaluate_condition
from recipe_executor.errors import StepError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("true", True),
        ("TRUE", True),
        ("False", False),
        ("  false  ", False),
        ("", False),
        ("   ", False),
        ("null", False),
        ("None", False),
        ("0", False),
        ("1", True),
        ("0.0", False),
        ("-2", True),
        ("'x'", True),
        ("''", False),
        ("[]", False),
        ("[1]", True),
        ("yes", False),  # a bare word on its own is false: it reads like an undefined name
        ("fast == 'fast'", True),  # ...but compares as the text it spells
        ("fast != 'fast'", False),
        ("'a' == \"a\"", True),
        ("5 > 3", True),
        ("5 >= 5", True),
        ("2 < 1.5", False),
        ("2 <= 2.0", True),
        ("'b' > 'a'", True),
        ("1 == 1.0", True),
        ("'1' == 1", False),
        ("true and false", False),
        ("true or false", True),
        ("not false", True),
        ("not 1 == 2", True),
        ("True AND NOT False", True),
        ("true and (false or true)", True),
        ("false or false or true", True),
        ("true and true and false", False),
        ("and(true, true)", True),
        ("and(true, false, true)", False),
        ("or(false, false)", False),
        ("or(false, 'x')", True),
        ("not(true)", False),
        ("and(true, or(false, true))", True),
        ("'a' in ['a', 'b']", True),
        ("'c' in ['a', 'b']", False),
        ("'c' not in ['a', 'b']", True),
        ("'ell' in 'hello'", True),
        ("x in ['x']", True),
        ("1 in (1, 2)", True),
        ("'a' in null", False),
        # what an undefined value renders to: the missing operand is None
        ("== 'fast'", False),
        ("!= null", False),
        ("== null", True),
        ("> 0", False),
        ("'x' ==", False),
        ("'c:\\dir'", True),
    ],
)
def test_condition_evaluates(text: str, expected: bool) -> None:
    assert evaluate_condition(text) is expected


def test_condition_string_escapes_are_read() -> None:
    assert evaluate_condition("'it\\'s' == \"it's\"")
    assert evaluate_condition("'a\\nb' == 'a\nb'")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("a.b", "attribute access is not supported"),
        ("__import__('os')", "unknown function '__import__'"),
        ("open('x')", "unknown function 'open'"),
        ("x[0]", "indexing 'x' is not supported"),
        ("'abc", "unterminated string"),
        ("[1, 2", "expected ']'"),
        ("1 2", "unexpected '2'"),
        ("(true", "expected ')'"),
        ("1 < 'a'", "cannot compare 1 < 'a'"),
        ("true < 1", "cannot compare"),
        ("1 in 5", "'in' needs a list or a string"),
        ("not()", "not() takes 1 argument(s), got 0"),
        ("file_is_newer('a')", "file_is_newer() takes 2 argument(s), got 1"),
        ("lambda: 1", "unexpected character ':'"),
        ("{'a': 1}", "unexpected character '{'"),
        ("a && b", "unexpected character '&'"),
    ],
)
def test_condition_outside_the_grammar_is_an_error_quoting_it(text: str, fragment: str) -> None:
    with pytest.raises(StepError) as info:
        evaluate_condition(text)
    message = str(info.value)
    assert fragment in message
    assert repr(text) in message
    assert check_condition(text) is not None


def test_condition_injection_payload_is_refused_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    payload = (
        "'' or [c for c in ().__class__.__base__.__subclasses__() if c.__name__=='catch_warnings'][0]()"
        "._module.__builtins__['__import__']('os').system('touch pwned') or '' == 'yes'"
    )
    with pytest.raises(StepError):
        evaluate_condition(payload)
    assert not (tmp_path / "pwned").exists()


def test_condition_nested_too_deeply_is_an_error() -> None:
    with pytest.raises(StepError, match="nested too deeply"):
        evaluate_condition("(" * 5000 + "true" + ")" * 5000)


def test_file_functions_resolve_against_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.md").write_text("a")
    (tmp_path / "docs" / "b.md").write_text("b")
    assert evaluate_condition("file_exists('docs/a.md')")
    assert evaluate_condition("file_exists('docs')")  # folders count, as upstream
    assert not evaluate_condition("file_exists('docs/missing.md')")
    assert not evaluate_condition("file_exists('')")
    assert evaluate_condition("all_files_exist(['docs/a.md', 'docs/b.md'])")
    assert not evaluate_condition("all_files_exist(['docs/a.md', 'docs/c.md'])")
    assert evaluate_condition("all_files_exist('docs/*.md')")  # a glob string (upstream: always false)
    assert not evaluate_condition("all_files_exist('docs/*.txt')")
    assert evaluate_condition("all_files_exist(['docs/*.md', 'docs/a.md'])")
    assert not evaluate_condition("all_files_exist([])")
    assert evaluate_condition("or(file_exists('nope'), file_exists('docs/b.md'))")


def test_file_is_newer_compares_modification_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "old.txt").write_text("o")
    (tmp_path / "new.txt").write_text("n")
    os.utime(tmp_path / "old.txt", (1_000_000, 1_000_000))
    os.utime(tmp_path / "new.txt", (2_000_000, 2_000_000))
    assert evaluate_condition("file_is_newer('new.txt', 'old.txt')")
    assert not evaluate_condition("file_is_newer('old.txt', 'new.txt')")
    assert not evaluate_condition("file_is_newer('new.txt', 'missing.txt')")


def test_check_condition_touches_no_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x").write_text("x")
    assert check_condition("file_exists('x') and not file_exists('y')") is None
    assert check_condition("frobnicate('x')") is not None
