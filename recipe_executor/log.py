"""Logging for the CLI: ``debug.log``, ``info.log`` and ``error.log`` in the log folder (as
upstream), a console handler, and redaction of secret values from every record."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["LOGGER_NAME", "RedactingFilter", "setup_logging"]

LOGGER_NAME = "recipe_executor"
_FORMAT = "%(asctime)s.%(msecs)03d [%(levelname)s] %(message)s"
_DATEFMT = "%Y-%m-%d %H:%M:%S"


class RedactingFilter(logging.Filter):
    """Replaces every occurrence of the given secret strings in a record with ``***``."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg = redacted
            record.args = None
        if record.exc_text:
            for secret in self.secrets:
                record.exc_text = record.exc_text.replace(secret, "***")
        return True


def setup_logging(log_dir: Path, level: str, secrets: Iterable[str] = ()) -> logging.Logger:
    """Configure the ``recipe_executor`` logger (never the root logger) for one CLI run."""
    logger = logging.getLogger(LOGGER_NAME)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    redactor = RedactingFilter(secrets)
    formatter = logging.Formatter(_FORMAT, _DATEFMT)
    log_dir.mkdir(parents=True, exist_ok=True)
    for name, file_level in (("debug", logging.DEBUG), ("info", logging.INFO), ("error", logging.ERROR)):
        handler: logging.Handler = logging.FileHandler(log_dir / f"{name}.log", mode="w", encoding="utf-8")
        handler.setLevel(file_level)
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        logger.addHandler(handler)
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(_level(level))
    console.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    console.addFilter(redactor)
    logger.addHandler(console)
    return logger


def _level(name: str) -> int:
    value = logging.getLevelName(name.upper().replace("WARN", "WARNING").replace("WARNINGING", "WARNING"))
    return value if isinstance(value, int) else logging.INFO
