"""The safe condition language of the ``conditional`` step: a tokenizer and a recursive-descent
parser that evaluates as it parses. Nothing here ever calls Python's ``eval``.

Grammar (keywords are case-insensitive)::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand]
    operand    := STRING | NUMBER | "-" NUMBER | true | false | null | none | WORD
                | "[" [expr ("," expr)* [","]] "]" | "(" expr ")" | FUNC "(" [expr ("," expr)*] ")"
    FUNC       := and | or | not | file_exists | all_files_exist | file_is_newer

Values and truth:
- ``true``/``false`` in any case are booleans; ``null``/``none`` are ``None``.
- A bare WORD (``fast`` in ``fast == 'fast'``, which is how ``{{ mode }} == 'fast'`` renders) is
  the string it spells when compared, so unquoted rendered values compare as users expect. On
  its own as a truth value a bare word is false: it reads like an undefined name, and the
  condition cannot tell a value from a typo (``{{ flag }}`` rendering ``yes`` is *not* true).
- A missing operand (``== 'x'``, ``!= null``, ``> 3`` — what an undefined value renders to) is
  ``None``; an empty condition is false.
- Truth: booleans as they are, ``None`` false, numbers non-zero, strings and lists non-empty.
- ``<``/``>`` between a number and a string is an error; anything compared with ``None`` by
  order is false.

No attribute access (``a.b``), no indexing, no other calls. Any text outside the grammar raises
:class:`~recipe_executor.errors.StepError` quoting the condition.

File functions resolve relative paths against the working directory, as upstream:
``file_exists(path)`` (files and folders), ``all_files_exist(paths)`` (a list or one string;
each entry may be a glob that must match at least one file; an empty list is false) and
``file_is_newer(a, b)`` (``a`` modified after ``b``; false if either is missing).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import StepError

__all__ = ["FUNCTIONS", "check_condition", "evaluate_condition", "is_truthy", "parse_condition"]

SYNTAX_HELP = (
    "conditions support true/false, quoted strings, numbers, lists, == != < <= > >= in, "
    "and/or/not, and the functions file_exists, all_files_exist and file_is_newer"
)


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "str", "num", "word", "op", "punct", "end"
    text: str
    value: Any
    pos: int


class _BareWord(str):
    """A word that was not quoted: compares as its text, is false as a truth value."""

    __slots__ = ()


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<word>[^\W\d]\w*)
  | (?P<op>==|!=|<=|>=|<|>)
  | (?P<punct>[()\[\],\-])
  | (?P<quote>['"])
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "0": "\0"}


def _read_string(text: str, start: int) -> tuple[str, int]:
    """The string literal opening at ``start``; returns its value and the index after it."""
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            # Unknown escapes keep their backslash, as Python does (``C:\path`` survives).
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        if ch == quote:
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise _Syntax(f"unterminated string starting at position {start}")


class _Syntax(Exception):
    """Internal: a parse error, turned into a StepError quoting the condition."""


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        match = _TOKEN_RE.match(text, i)
        if match is None:
            ch = text[i]
            hint = " (attribute access is not supported)" if ch == "." else ""
            raise _Syntax(f"unexpected character {ch!r} at position {i}{hint}")
        kind = match.lastgroup
        if kind == "quote":
            value, end = _read_string(text, i)
            tokens.append(_Token("str", text[i:end], value, i))
            i = end
            continue
        piece = match.group()
        if kind == "num":
            number = float(piece)
            tokens.append(_Token("num", piece, int(number) if number.is_integer() and "." not in piece
                                 and "e" not in piece.lower() else number, i))
        elif kind in ("word", "op", "punct"):
            tokens.append(_Token(kind or "", piece, piece, i))
        i = match.end()
    tokens.append(_Token("end", "", None, len(text)))
    return tokens


def is_truthy(value: Any) -> bool:
    """Truth of a condition value (see the module docstring)."""
    if isinstance(value, _BareWord) or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return bool(value)


def _paths(value: Any) -> list[str]:
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    if value is None:
        return []
    return [str(value)]


def file_exists(path: Any) -> bool:
    """True if ``path`` names an existing file or folder (relative to the working directory)."""
    return bool(path) and not isinstance(path, (list, tuple)) and os.path.exists(str(path))


def all_files_exist(*args: Any) -> bool:
    """True if every entry exists; entries may be globs, each of which must match something."""
    entries = [p for arg in args for p in _paths(arg)]
    if not entries:
        return False
    for entry in entries:
        if not entry:
            return False
        if os.path.exists(entry):
            continue
        if not any(c in entry for c in "*?[") or not glob.glob(entry, recursive=True):
            return False
    return True


def file_is_newer(first: Any, second: Any) -> bool:
    """True if ``first`` was modified after ``second``; false if either is missing."""
    try:
        return os.path.getmtime(str(first)) > os.path.getmtime(str(second))
    except (OSError, ValueError):
        return False


def _and(*args: Any) -> bool:
    return all(is_truthy(a) for a in args)


def _or(*args: Any) -> bool:
    return any(is_truthy(a) for a in args)


def _not(value: Any) -> bool:
    return not is_truthy(value)


# name → (function, smallest and largest number of arguments; None = any)
FUNCTIONS: dict[str, tuple[Callable[..., bool], int, int | None]] = {
    "and": (_and, 1, None),
    "or": (_or, 1, None),
    "not": (_not, 1, 1),
    "file_exists": (file_exists, 1, 1),
    "all_files_exist": (all_files_exist, 1, None),
    "file_is_newer": (file_is_newer, 2, 2),
}

_COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_LITERALS: dict[str, Any] = {"true": True, "false": False, "null": None, "none": None}


class _Parser:
    """Recursive descent over the tokens, evaluating as it goes (conditions are tiny)."""

    def __init__(self, text: str, *, evaluate: bool = True) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.evaluate = evaluate

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def _is_word(self, word: str, offset: int = 0) -> bool:
        tok = self.tokens[min(self.i + offset, len(self.tokens) - 1)]
        return tok.kind == "word" and tok.text.lower() == word

    def _next(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def _expect(self, text: str) -> None:
        if self.tok.text != text or self.tok.kind not in ("punct", "op"):
            raise _Syntax(f"expected {text!r} at position {self.tok.pos}, found {self._show(self.tok)}")
        self.i += 1

    @staticmethod
    def _show(tok: _Token) -> str:
        return "the end" if tok.kind == "end" else repr(tok.text)

    def parse(self) -> Any:
        if self.tok.kind == "end":
            return None
        value = self.or_expr()
        if self.tok.kind != "end":
            raise _Syntax(f"unexpected {self._show(self.tok)} at position {self.tok.pos}")
        return value

    def or_expr(self) -> Any:
        value = self.and_expr()
        while self._is_word("or"):
            self.i += 1
            right = self.and_expr()
            value = is_truthy(value) or is_truthy(right)
        return value

    def and_expr(self) -> Any:
        value = self.not_expr()
        while self._is_word("and"):
            self.i += 1
            right = self.not_expr()
            value = is_truthy(value) and is_truthy(right)
        return value

    def not_expr(self) -> Any:
        if self._is_word("not") and not self._is_call():
            self.i += 1
            return not is_truthy(self.not_expr())
        return self.comparison()

    def _is_call(self) -> bool:
        nxt = self.tokens[min(self.i + 1, len(self.tokens) - 1)]
        return nxt.kind == "punct" and nxt.text == "("

    def _at_operator(self) -> str | None:
        tok = self.tok
        if tok.kind == "op" and tok.text in _COMPARISONS:
            return tok.text
        if self._is_word("in"):
            return "in"
        if self._is_word("not") and self._is_word("in", 1):
            return "not in"
        return None

    def comparison(self) -> Any:
        # An operator where an operand belongs means the value rendered empty: it is None.
        left = None if self._at_operator() else self.operand()
        op = self._at_operator()
        if op is None:
            return left
        self.i += 2 if op == "not in" else 1
        right = None if self._operand_missing() else self.operand()
        return _compare(left, op, right)

    def _operand_missing(self) -> bool:
        tok = self.tok
        return (
            tok.kind == "end"
            or (tok.kind == "punct" and tok.text in (")", "]", ","))
            or ((self._is_word("and") or self._is_word("or")) and not self._is_call())
        )

    def operand(self) -> Any:
        tok = self._next()
        if tok.kind in ("str", "num"):
            return tok.value
        if tok.kind == "punct":
            if tok.text == "-" and self.tok.kind == "num":
                return -self._next().value
            if tok.text == "(":
                value = self.or_expr()
                if self.tok.kind == "punct" and self.tok.text == ",":
                    items = [value]
                    while self.tok.kind == "punct" and self.tok.text == ",":
                        self.i += 1
                        if self.tok.kind == "punct" and self.tok.text == ")":
                            break
                        items.append(self.or_expr())
                    value = items
                self._expect(")")
                return value
            if tok.text == "[":
                return self._sequence("]")
        if tok.kind == "word":
            name = tok.text.lower()
            if self.tok.kind == "punct" and self.tok.text == "(":
                return self._call(tok)
            if self.tok.kind == "punct" and self.tok.text == "[":
                raise _Syntax(f"indexing {tok.text!r} is not supported (position {self.tok.pos})")
            if name in _LITERALS:
                return _LITERALS[name]
            if name in ("and", "or", "not", "in"):
                raise _Syntax(f"{tok.text!r} at position {tok.pos} is missing an operand")
            return _BareWord(tok.text)
        raise _Syntax(f"unexpected {self._show(tok)} at position {tok.pos}")

    def _sequence(self, close: str) -> list[Any]:
        items: list[Any] = []
        while not (self.tok.kind == "punct" and self.tok.text == close):
            items.append(self.or_expr())
            if self.tok.kind == "punct" and self.tok.text == ",":
                self.i += 1
                continue
            break
        self._expect(close)
        return items

    def _call(self, name_tok: _Token) -> Any:
        name = name_tok.text.lower()
        spec = FUNCTIONS.get(name)
        if spec is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise _Syntax(f"unknown function {name_tok.text!r} at position {name_tok.pos} (known: {known})")
        self._expect("(")
        args = self._sequence(")")
        func, least, most = spec
        if len(args) < least or (most is not None and len(args) > most):
            wanted = str(least) if most == least else f"at least {least}"
            raise _Syntax(f"{name}() takes {wanted} argument(s), got {len(args)}")
        if not self.evaluate and name not in ("and", "or", "not"):
            return False  # checking syntax only: touch no files
        return func(*args)


def _compare(left: Any, op: str, right: Any) -> bool:
    if op == "==":
        return bool(_plain(left) == _plain(right))
    if op == "!=":
        return bool(_plain(left) != _plain(right))
    if op in ("in", "not in"):
        if right is None:
            found = False
        elif isinstance(right, (list, tuple)):
            found = _plain(left) in [_plain(r) for r in right]
        elif isinstance(right, str):
            found = left is not None and str(left) in right
        else:
            raise _Syntax(f"'in' needs a list or a string on its right, not {right!r}")
        return found if op == "in" else not found
    if left is None or right is None:
        return False
    numeric = (int, float)
    if isinstance(left, bool) or isinstance(right, bool) or isinstance(left, numeric) != isinstance(right, numeric):
        raise _Syntax(f"cannot compare {_plain(left)!r} {op} {_plain(right)!r}: order needs two numbers or two strings")
    a, b = _plain(left), _plain(right)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, _BareWord) else value


def parse_condition(text: str) -> Any:
    """The value of condition ``text`` (not yet reduced to a bool).

    Raises :class:`StepError` quoting ``text`` if it is not a valid condition.
    """
    try:
        return _Parser(text).parse()
    except _Syntax as exc:
        raise StepError(f"cannot evaluate condition {text!r}: {exc}; {SYNTAX_HELP}") from None
    except RecursionError:
        raise StepError(f"cannot evaluate condition {text[:80]!r}…: it is nested too deeply") from None


def check_condition(text: str) -> str | None:
    """The syntax problem in condition ``text`` as a sentence, or ``None``; runs no file checks."""
    try:
        _Parser(text, evaluate=False).parse()
    except _Syntax as exc:
        return f"invalid condition {text!r}: {exc}; {SYNTAX_HELP}"
    except RecursionError:
        return f"invalid condition {text[:80]!r}…: it is nested too deeply"
    return None


def evaluate_condition(text: str) -> bool:
    """Evaluate condition ``text`` to a bool; see the module docstring for the language."""
    return is_truthy(parse_condition(text))
