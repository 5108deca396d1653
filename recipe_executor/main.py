"""The ``recipe-executor`` command line: parse → build a Context → run → exit code.

    recipe-executor RECIPE [--context K=V ...] [--config K=V ...] [--log-dir DIR] [--log-level L]
    recipe-executor run RECIPE ...        (the same)
    recipe-executor validate RECIPE ...   (check the whole tree, run nothing)

Exit codes: 0 success, 1 recipe or step error, 2 usage error, 130 interrupted (Ctrl-C).
A recipe or step error prints one line (the step path and the reason); the traceback goes to
``debug.log``, and to the console only with ``--debug``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["EXIT_ERROR", "EXIT_INTERRUPTED", "EXIT_OK", "EXIT_USAGE", "build_parser", "main", "parse_pairs"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
DEFAULT_LOG_DIR = "logs"
_COMMANDS = ("run", "validate")
_USAGE = "usage: recipe-executor [run|validate] RECIPE [--context K=V ...] [--config K=V ...] (see --help)"


class UsageError(Exception):
    """Bad command-line input (exit code 2)."""


def parse_pairs(pairs: Sequence[str], flag: str) -> dict[str, str]:
    """``["a=1", "b=x=y"]`` → ``{"a": "1", "b": "x=y"}``; a pair without ``=`` is a usage error."""
    result: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"{flag} takes KEY=VALUE pairs, got {pair!r}")
        result[key] = value
    return result


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser for ``run`` (also the bare form) or ``validate``."""
    from . import __version__

    prog = "recipe-executor" if command == "run" else f"recipe-executor {command}"
    description = (
        "Run a recipe (also: 'recipe-executor run RECIPE'). 'recipe-executor validate RECIPE' checks "
        "the whole recipe tree without running it."
        if command == "run"
        else "Validate a recipe tree (steps, configs, templates, static sub-recipes) without running it."
    )
    parser = argparse.ArgumentParser(prog=prog, description=description, exit_on_error=False)
    add = parser.add_argument
    add("recipe_path", nargs="?", metavar="RECIPE", help="the recipe file (JSON or YAML)")
    add("--context", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
        help="set an artifact; repeatable, and several pairs may follow one flag")
    add("--config", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
        help="set a configuration value, e.g. model=openai/gpt-4o or openai_api_key=…; values never reach the logs")
    add("--log-dir", default=None, metavar="DIR",
        help=f"folder for debug.log, info.log and error.log (default for run: {DEFAULT_LOG_DIR}; validate writes none)")
    add("--log-level", default="INFO", metavar="LEVEL",
        help="console log level: DEBUG, INFO, WARNING, ERROR (default INFO)")
    add("--plugin", action="append", default=[], metavar="MODULE",
        help="import MODULE so it registers its steps (repeatable)")
    add("--strict", action="store_true", help="unknown config keys are errors, not warnings")
    add("--strict-templates", action="store_true", help="undefined template variables are errors")
    add("--max-depth", type=int, default=None, metavar="N", help="most nested execute_recipe levels (default 64)")
    add("--debug", action="store_true", help="print tracebacks for errors")
    add("--version", action="version", version=f"recipe-executor {__version__}")
    return parser


def _parse(argv: Sequence[str]) -> tuple[str, argparse.Namespace]:
    args = list(argv)
    command = args.pop(0) if args and args[0] in _COMMANDS else "run"
    try:
        ns, extra = build_parser(command).parse_known_args(args)
    except argparse.ArgumentError as exc:
        raise UsageError(str(exc)) from None
    if extra:
        raise UsageError(f"unrecognized arguments: {' '.join(extra)}")
    if ns.recipe_path is None:
        # `--context a=1 recipe.json`: the greedy pair list swallowed the recipe; take it back.
        for flag in ("context", "config"):
            values: list[str] = getattr(ns, flag)
            for index, value in enumerate(values):
                if "=" not in value:
                    ns.recipe_path = values.pop(index)
                    break
            if ns.recipe_path is not None:
                break
    if ns.recipe_path is None:
        raise UsageError("missing the RECIPE argument (the recipe file to run)")
    if ns.max_depth is not None and ns.max_depth < 0:
        raise UsageError(f"--max-depth must be 0 or more, got {ns.max_depth}")
    from .log import parse_level

    try:
        parse_level(ns.log_level)
    except ValueError as exc:
        raise UsageError(f"--log-level: {exc}") from None
    return command, ns


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        command, ns = _parse(argv)
        artifacts = parse_pairs(ns.context, "--context")
        cli_config = parse_pairs(ns.config, "--config")
    except UsageError as exc:
        print(f"recipe-executor: error: {exc}", file=sys.stderr)
        print(_USAGE, file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse's own exit: --help, --version, or its usage errors
        return EXIT_OK if exc.code in (0, None) else EXIT_USAGE
    try:
        return _run(command, ns, artifacts, cli_config)
    except KeyboardInterrupt:
        print("recipe-executor: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(command: str, ns: argparse.Namespace, artifacts: dict[str, str], cli_config: dict[str, str]) -> int:
    from .config import build_config, secret_values
    from .errors import RecipeExecutorError, RecipeValidationError
    from .loader import load_recipe
    from .log import FILES_ONLY, cli_logging

    dotenv_file = Path.cwd() / ".env"
    if dotenv_file.is_file():  # python-dotenv is imported only when there is a file to load
        from dotenv import load_dotenv

        load_dotenv(dotenv_file, override=False)
    env_vars: list[str] = []
    try:
        data = load_recipe(ns.recipe_path).data
        listed = data.get("env_vars")
        env_vars = [v for v in listed if isinstance(v, str)] if isinstance(listed, list) else []
    except (RecipeExecutorError, OSError):
        pass  # reported below, through the logs, when the executor loads it
    config = build_config(env_vars, cli_config)
    secrets = secret_values(config, cli_config)

    with contextlib.ExitStack() as stack:
        log_dir = _log_dir(command, ns)
        try:
            logger = stack.enter_context(cli_logging(log_dir, ns.log_level, secrets))
        except OSError as exc:
            reason = exc.strerror or str(exc)
            if ns.log_dir is not None:
                print(f"recipe-executor: error: cannot create log folder {ns.log_dir!r}: {reason}", file=sys.stderr)
                return EXIT_ERROR
            print(f"recipe-executor: warning: cannot create log folder {DEFAULT_LOG_DIR!r} ({reason}); "
                  "logging to the console only", file=sys.stderr)
            logger = stack.enter_context(cli_logging(None, ns.log_level, secrets))
        try:
            return _execute(command, ns, artifacts, config, logger)
        except RecipeValidationError as exc:
            return _fail(exc, "invalid recipe", ns.debug, logger, secrets)
        except RecipeExecutorError as exc:
            return _fail(exc, "failed", ns.debug, logger, secrets)
        except KeyboardInterrupt:
            logger.error("Interrupted", extra=FILES_ONLY)
            raise
        except Exception as exc:  # a bug or an unexpected environment problem: the CLI boundary
            code = _fail(exc, f"unexpected {type(exc).__name__}", ns.debug, logger, secrets)
            if not ns.debug:
                print("recipe-executor: run with --debug to see the traceback", file=sys.stderr)
            return code


def _log_dir(command: str, ns: argparse.Namespace) -> Path | None:
    if ns.log_dir is not None:
        return Path(ns.log_dir)
    return None if command == "validate" else Path(DEFAULT_LOG_DIR)


def _execute(
    command: str, ns: argparse.Namespace, artifacts: dict[str, str], config: dict[str, Any], logger: logging.Logger
) -> int:
    import anyio

    from .context import Context
    from .executor import Executor
    from .runtime import DEFAULT_MAX_DEPTH, RunOptions
    from .steps.registry import load_entry_point_steps, load_plugin

    load_entry_point_steps()
    for module in ns.plugin:
        load_plugin(module)
    options = RunOptions(
        strict=ns.strict,
        strict_templates=ns.strict_templates,
        max_depth=ns.max_depth if ns.max_depth is not None else DEFAULT_MAX_DEPTH,
    )
    executor = Executor(logger, options=options)
    if command == "validate":
        loaded = executor.validate(ns.recipe_path)
        count = len(loaded.data.get("steps", []))
        print(f"{ns.recipe_path}: valid ({count} top-level step{'' if count == 1 else 's'})")
        return EXIT_OK
    started = time.perf_counter()
    logger.info("Running recipe %s", ns.recipe_path)
    logger.debug("Context keys from --context: %s; config keys: %s", sorted(artifacts), sorted(config))
    context = Context(artifacts=artifacts, config=config)
    try:
        anyio.run(executor.execute, ns.recipe_path, context)
    finally:  # what was spent is reported also when the run fails or is interrupted
        _print_summary(executor, logger)
    logger.info("Recipe execution completed successfully in %.2f seconds", time.perf_counter() - started)
    return EXIT_OK


def _fail(exc: BaseException, what: str, debug: bool, logger: logging.Logger, secrets: Sequence[str]) -> int:
    """Log ``exc`` (traceback in debug.log, the message in error.log) and print one line."""
    from .log import FILES_ONLY, redact

    trace = "".join(traceback.format_exception(exc))
    logger.debug("%s", trace, extra=FILES_ONLY)
    logger.error("%s: %s", what, exc, extra=FILES_ONLY)
    ordered = sorted(secrets, key=len, reverse=True)
    print(redact(f"recipe-executor: {what}: {exc}", ordered), file=sys.stderr)
    if debug:
        print(redact(trace, ordered), file=sys.stderr)
    return EXIT_ERROR


def _print_summary(executor: Any, logger: logging.Logger) -> None:
    """Report the run's LLM usage totals, if any step recorded some."""
    run = executor.last_run
    if run is None:
        return
    usage = run.peek_service("llm.usage")
    summary = getattr(usage, "summary", None)
    if callable(summary):
        text = summary()
        if text:
            logger.info("%s", text)


if __name__ == "__main__":  # `python -m recipe_executor.main`, as upstream
    sys.exit(main())
