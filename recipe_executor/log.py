"""Logging for the CLI: ``debug.log``, ``info.log`` and ``error.log`` in the log folder (as
upstream, truncated at each run), a console handler on stderr, and redaction of secret values
from every record, tracebacks included.

Only the ``recipe_executor`` logger is configured, never the root logger (upstream replaced
the root logger's handlers, which hijacked any host application's logging), and
:func:`cli_logging` restores it when the run ends.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

__all__ = ["FILES_ONLY", "LEVELS", "LOGGER_NAME", "RedactingFilter", "cli_logging", "parse_level", "redact"]

LOGGER_NAME = "recipe_executor"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FORMAT = "%(asctime)s.%(msecs)03d [%(levelname)s] %(message)s"
_DATEFMT = "%Y-%m-%d %H:%M:%S"
_MASK = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret replaced by ``***`` (longest first)."""
    for secret in secrets:
        text = text.replace(secret, _MASK)
    return text


class RedactingFilter(logging.Filter):
    """Replaces every occurrence of the given secret strings in a record with ``***``.

    The message, the formatted traceback and the stack text are all redacted. Secrets shorter
    than 4 characters are ignored: masking them would garble every line and protect nothing.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = redact(message, self.secrets)
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, self.secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, self.secrets)
        return True


class _ConsoleFilter(logging.Filter):
    """Keeps records marked ``extra={"console": False}`` off the console (the CLI prints its
    own one-line error message there)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "console", True) is not False


FILES_ONLY = {"console": False}
"""``extra=`` for records meant for the log files only."""


_FLUSH_INTERVAL = 0.5
"""Most seconds a written log line may wait in the buffer (warnings and errors never wait)."""


class _Formatter(logging.Formatter):
    """The file format, with the ``strftime`` of the timestamp done once per second."""

    def __init__(self) -> None:
        super().__init__(_FORMAT, _DATEFMT)
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = time.strftime(datefmt or _DATEFMT, self.converter(record.created))
            self._second = second
        return self._stamp


class _LogFiles(logging.Handler):
    """``debug.log``, ``info.log`` and ``error.log`` behind one handler.

    Each record is formatted once and written to every file whose level it reaches. Writes are
    buffered: flushed at once for warnings and errors, otherwise at least every
    :data:`_FLUSH_INTERVAL` seconds and on close. A recipe of thousands of steps logs a few
    lines per step, and three handlers each formatting and flushing every line cost a third
    of such a run.
    """

    def __init__(self, log_dir: Path) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(_Formatter())
        self.files: list[tuple[int, TextIO]] = []
        try:
            for name, level in (("debug", logging.DEBUG), ("info", logging.INFO), ("error", logging.ERROR)):
                self.files.append((level, (log_dir / f"{name}.log").open("w", encoding="utf-8")))
        except OSError:
            self.close()
            raise
        self._flushed = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + "\n"
            for level, stream in self.files:
                if record.levelno >= level:
                    stream.write(line)
            now = time.monotonic()
            if record.levelno >= logging.WARNING or now - self._flushed >= _FLUSH_INTERVAL:
                self._flush_files()
                self._flushed = now
        except Exception:  # logging must never break the run (the standard handlers' rule)
            self.handleError(record)

    def _flush_files(self) -> None:
        for _, stream in self.files:
            stream.flush()

    def flush(self) -> None:
        with self.lock or contextlib.nullcontext():
            self._flush_files()

    def close(self) -> None:
        with self.lock or contextlib.nullcontext():
            for _, stream in self.files:
                stream.close()
            self.files = []
        super().close()


# Record attributes nothing in our formats uses; the logging HOWTO ("Optimization") names
# these switches for skipping their cost (a stack walk for the caller, thread/process names).
_RECORD_SWITCHES = ("_srcfile", "logThreads", "logProcesses", "logMultiprocessing")


def _lean_records() -> dict[str, Any]:
    saved = {name: getattr(logging, name) for name in _RECORD_SWITCHES}
    for name in _RECORD_SWITCHES:
        setattr(logging, name, None if name == "_srcfile" else False)
    return saved


def parse_level(name: str) -> int:
    """A level name (any case; ``WARN`` means WARNING) as a number; ``ValueError`` if unknown."""
    upper = name.strip().upper()
    if upper == "WARN":
        upper = "WARNING"
    if upper not in LEVELS:
        raise ValueError(f"unknown log level {name!r}; use one of {', '.join(LEVELS)}")
    return int(getattr(logging, upper))


@contextlib.contextmanager
def cli_logging(log_dir: Path | None, level: str, secrets: Iterable[str] = ()) -> Iterator[logging.Logger]:
    """Configure the ``recipe_executor`` logger for one CLI run, and restore it afterwards.

    With ``log_dir``, the folder is created and ``debug.log`` / ``info.log`` / ``error.log`` are
    written there (``OSError`` if it cannot be created); without it, only the console is used.
    The console shows records at ``level`` and above. While it is active, records skip the
    caller, thread and process lookups (unused by these formats).
    """
    logger = logging.getLogger(LOGGER_NAME)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    redactor = RedactingFilter(secrets)
    handlers: list[logging.Handler] = []
    switches = _lean_records()
    try:
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            files = _LogFiles(log_dir)
            files.addFilter(redactor)
            handlers.append(files)
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(parse_level(level))
        console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
        console.addFilter(redactor)
        console.addFilter(_ConsoleFilter())
        handlers.append(console)
        logger.handlers = list(handlers)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        yield logger
    finally:
        logger.handlers = saved[0]
        logger.setLevel(saved[1])
        logger.propagate = saved[2]
        for handler in handlers:
            handler.close()
        for name, value in switches.items():
            setattr(logging, name, value)
