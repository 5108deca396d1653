"""Upstream's ``recipe_executor.logger.init_logger``, for scripts that embed the executor.

``init_logger(log_dir, stdio_log_level)`` configures the root logger as upstream's did:
``debug.log``, ``info.log`` and ``error.log`` in ``log_dir`` (rewritten each time) and the
console (stdout) at ``stdio_log_level``. The CLI uses :mod:`recipe_executor.log` instead, which
also redacts secrets.
"""

from __future__ import annotations

import logging
import os
import sys

__all__ = ["init_logger"]

_FORMAT = "%(asctime)s.%(msecs)03d [%(levelname)s] (%(filename)s:%(lineno)d) %(message)s"
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def init_logger(log_dir: str = "logs", stdio_log_level: str = "INFO") -> logging.Logger:
    """The root logger with the three log files and a console handler; see the module docstring.

    An unknown ``stdio_log_level`` falls back to INFO (``WARN`` means WARNING), as upstream.
    """
    logger = logging.getLogger()
    logger.setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    os.makedirs(log_dir, exist_ok=True)
    formatter = logging.Formatter(fmt=_FORMAT, datefmt="%Y-%m-%d %H:%M:%S")
    for name, level in (("debug", logging.DEBUG), ("info", logging.INFO), ("error", logging.ERROR)):
        file_handler = logging.FileHandler(os.path.join(log_dir, f"{name}.log"), mode="w", encoding="utf-8")
        file_handler.setLevel(level)
        file_handler.setFormatter(formatter)
        logger.addHandler(file_handler)
    level_name = stdio_log_level.upper()
    level_name = "WARNING" if level_name == "WARN" else level_name
    console = logging.StreamHandler(sys.stdout)
    console.setLevel(getattr(logging, level_name) if level_name in _LEVELS else logging.INFO)
    console.setFormatter(formatter)
    logger.addHandler(console)
    logger.debug("Logger initialized with dir=%r, stdio_level=%r", log_dir, level_name)
    return logger
