"""Upstream's ``init_logger``: three log files and the console, for scripts embedding the executor.

Run in a subprocess: it reconfigures the root logger, which pytest's own log capture uses.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = """
import anyio, sys
from recipe_executor import Context, Executor
from recipe_executor.logger import init_logger

logger = init_logger(log_dir=sys.argv[1], stdio_log_level="warn")
logger.debug("debug line")
logger.info("info line")
logger.warning("warning line")
logger.error("error line")
anyio.run(Executor(logger).execute, '{"steps": [{"type": "set_context", "key": "a", "value": "b"}]}', Context())
"""


def test_init_logger_writes_three_files_and_filters_the_console(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(logs)], capture_output=True, text=True, check=True)
    debug, info, error = ((logs / f"{name}.log").read_text() for name in ("debug", "info", "error"))
    assert "debug line" in debug and "info line" in debug and "error line" in debug
    assert "debug line" not in info and "info line" in info and "warning line" in info
    assert "error line" in error and "warning line" not in error
    assert "warning line" in result.stdout and "info line" not in result.stdout
