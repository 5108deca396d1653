"""CLI logging: three log files, a console handler, redaction, and a clean restore."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from recipe_executor.log import FILES_ONLY, LOGGER_NAME, RedactingFilter, cli_logging, parse_level


def test_cli_logging_writes_debug_info_and_error_logs_by_level(tmp_path: Path) -> None:
    with cli_logging(tmp_path / "logs", "ERROR") as logger:
        logger.debug("a debug line")
        logger.info("an info line")
        logger.error("an error line")
    debug, info, error = ((tmp_path / "logs" / f"{n}.log").read_text() for n in ("debug", "info", "error"))
    assert "a debug line" in debug and "an info line" in debug and "an error line" in debug
    assert "a debug line" not in info and "an info line" in info
    assert "an info line" not in error and "an error line" in error
    assert "[ERROR]" in error


def test_cli_logging_redacts_secrets_in_messages_arguments_and_tracebacks(tmp_path: Path) -> None:
    secret = "sk-very-secret-value"
    with cli_logging(tmp_path, "DEBUG", [secret]) as logger:
        logger.info("key is %s", secret)
        try:
            raise ValueError(f"bad key {secret}")
        except ValueError:
            logger.exception("failed")
    for name in ("debug", "info", "error"):
        text = (tmp_path / f"{name}.log").read_text()
        assert secret not in text
    assert "bad key ***" in (tmp_path / "error.log").read_text()


def test_cli_logging_keeps_files_only_records_off_the_console(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli_logging(tmp_path, "INFO") as logger:
        logger.error("only in files", extra=FILES_ONLY)
        logger.error("everywhere")
    err = capsys.readouterr().err
    assert "everywhere" in err and "only in files" not in err
    assert "only in files" in (tmp_path / "error.log").read_text()


def test_cli_logging_restores_the_logger_afterwards(tmp_path: Path) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    before = (list(logger.handlers), logger.level, logger.propagate)
    with cli_logging(tmp_path, "INFO"):
        assert logger.propagate is False
    assert (list(logger.handlers), logger.level, logger.propagate) == before


def test_cli_logging_without_a_folder_uses_the_console_only(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with cli_logging(None, "INFO") as logger:
        logger.info("hello console")
    assert "hello console" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_parse_level_accepts_any_case_and_warn() -> None:
    assert parse_level("debug") == logging.DEBUG
    assert parse_level("WARN") == logging.WARNING
    with pytest.raises(ValueError, match="unknown log level 'loud'"):
        parse_level("loud")


def test_redacting_filter_ignores_too_short_secrets() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value %s", ("abc",), None)
    RedactingFilter(["abc"]).filter(record)
    assert record.getMessage() == "value abc"


def test_cli_logging_flushes_warnings_at_once_and_other_lines_by_close(tmp_path: Path) -> None:
    with cli_logging(tmp_path, "CRITICAL") as logger:
        logger.info("buffered line")
        logger.warning("urgent line")  # flushes everything written so far
        debug_now = (tmp_path / "debug.log").read_text()
        logger.debug("late line")
    assert "buffered line" in debug_now and "urgent line" in debug_now
    assert "late line" in (tmp_path / "debug.log").read_text()


def test_cli_logging_restores_the_record_switches_afterwards(tmp_path: Path) -> None:
    before = (logging._srcfile, logging.logThreads, logging.logProcesses)
    with cli_logging(tmp_path, "INFO"):
        assert logging._srcfile is None and logging.logThreads is False
    assert (logging._srcfile, logging.logThreads, logging.logProcesses) == before
