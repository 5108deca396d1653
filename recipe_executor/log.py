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
from collections.abc import Iterable, Iterator
from pathlib import Path

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
    The console shows records at ``level`` and above.
    """
    logger = logging.getLogger(LOGGER_NAME)
    saved = (list(logger.handlers), logger.level, logger.propagate)
    redactor = RedactingFilter(secrets)
    handlers: list[logging.Handler] = []
    try:
        if log_dir is not None:
            log_dir.mkdir(parents=True, exist_ok=True)
            formatter = logging.Formatter(_FORMAT, _DATEFMT)
            for name, file_level in (("debug", logging.DEBUG), ("info", logging.INFO), ("error", logging.ERROR)):
                file_handler = logging.FileHandler(log_dir / f"{name}.log", mode="w", encoding="utf-8")
                file_handler.setLevel(file_level)
                file_handler.setFormatter(formatter)
                file_handler.addFilter(redactor)
                handlers.append(file_handler)
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
