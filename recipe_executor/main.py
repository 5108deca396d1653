"""The ``recipe-executor`` command line: parse → build a Context → run → exit code.

    recipe-executor RECIPE [--context K=V ...] [--config K=V ...] [--log-dir DIR] [--log-level L]
    recipe-executor run RECIPE ...        (the same)
    recipe-executor validate RECIPE ...   (check the whole tree, run nothing)

Exit codes: 0 success, 1 recipe or step error, 2 usage error, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["build_parser", "main", "parse_pairs"]

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_NOT_SECRET = frozenset(
    {
        "model",
        "openai_base_url",
        "ollama_base_url",
        "azure_openai_base_url",
        "azure_openai_api_version",
        "azure_openai_deployment_name",
        "azure_use_managed_identity",
    }
)


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


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe_path", help="the recipe file (JSON or YAML)")
    parser.add_argument("--context", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="set an artifact (repeatable; several pairs may follow one flag)")
    parser.add_argument("--config", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="set a configuration value, e.g. model=openai/gpt-4o (never logged)")
    parser.add_argument("--log-dir", default="logs", help="folder for debug.log, info.log, error.log (default: logs)")
    parser.add_argument("--log-level", default="INFO", help="console log level (default: INFO)")
    parser.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                        help="import MODULE so that it registers its steps (repeatable)")
    parser.add_argument("--strict", action="store_true", help="unknown config keys are errors, not warnings")
    parser.add_argument("--strict-templates", action="store_true", help="undefined template variables are errors")
    parser.add_argument("--max-depth", type=int, default=None, help="most nested execute_recipe levels (default: 64)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")


def build_parser(command: str) -> argparse.ArgumentParser:
    """The parser for ``run`` (also the bare form) or ``validate``."""
    prog = "recipe-executor" if command == "run" else f"recipe-executor {command}"
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a recipe." if command == "run" else "Validate a recipe tree without running it.",
        exit_on_error=False,
    )
    _common(parser)
    return parser


def _parse(argv: Sequence[str]) -> tuple[str, argparse.Namespace]:
    command = "run"
    args = list(argv)
    if args and args[0] in ("run", "validate"):
        command = args.pop(0)
    parser = build_parser(command)
    try:
        ns, extra = parser.parse_known_args(args)
    except argparse.ArgumentError as exc:
        raise UsageError(str(exc)) from None
    if extra:
        raise UsageError(f"unrecognized arguments: {' '.join(extra)}")
    return command, ns


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if any(a in ("-h", "--help") for a in argv):
            command = argv[0] if argv and argv[0] in ("run", "validate") else "run"
            build_parser(command).print_help()
            return EXIT_OK
        command, ns = _parse(argv)
        artifacts = parse_pairs(ns.context, "--context")
        cli_config = parse_pairs(ns.config, "--config")
    except UsageError as exc:
        print(f"recipe-executor: error: {exc}", file=sys.stderr)
        print("usage: recipe-executor [run|validate] RECIPE [--context K=V ...] [--config K=V ...]", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse's own exit (e.g. a missing argument)
        return EXIT_USAGE if exc.code not in (0, None) else EXIT_OK

    try:
        return _run(command, ns, artifacts, cli_config)
    except KeyboardInterrupt:
        print("recipe-executor: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


def _run(command: str, ns: argparse.Namespace, artifacts: dict[str, str], cli_config: dict[str, str]) -> int:
    from dotenv import load_dotenv

    from .config import is_secret_key, load_configuration
    from .context import Context
    from .errors import RecipeExecutorError, RecipeValidationError
    from .executor import Executor
    from .loader import load_recipe
    from .log import setup_logging
    from .runtime import DEFAULT_MAX_DEPTH, RunOptions
    from .steps.registry import load_entry_point_steps, load_plugin

    load_dotenv(Path.cwd() / ".env", override=False)
    secrets = [v for k, v in cli_config.items() if k not in _NOT_SECRET or is_secret_key(k)]
    try:
        logger = setup_logging(Path(ns.log_dir), ns.log_level, secrets)
    except OSError as exc:
        print(f"recipe-executor: error: cannot create log folder {ns.log_dir!r}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_ERROR
    started = time.perf_counter()
    try:
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
            print(f"{ns.recipe_path}: valid ({len(loaded.data.get('steps', []))} top-level steps)")
            return EXIT_OK
        loaded = load_recipe(ns.recipe_path)
        env_vars = loaded.data.get("env_vars") or []
        config: dict[str, Any] = {**load_configuration(env_vars if isinstance(env_vars, list) else []), **cli_config}
        context = Context(artifacts=artifacts, config=config)
        import anyio

        logger.info("Running %s", ns.recipe_path)
        anyio.run(executor.execute, ns.recipe_path, context)
        elapsed = time.perf_counter() - started
        _print_summary(executor, logger)
        logger.info("Recipe execution completed successfully in %.2f seconds", elapsed)
        return EXIT_OK
    except RecipeValidationError as exc:
        logger.debug("validation failed", exc_info=True)
        _report(exc, ns.debug, logger, "invalid recipe")
        return EXIT_ERROR
    except RecipeExecutorError as exc:
        _report(exc, ns.debug, logger, "failed")
        return EXIT_ERROR
    except KeyboardInterrupt:
        logger.error("Interrupted")
        raise


def _report(exc: BaseException, debug: bool, logger: logging.Logger, what: str) -> None:
    logger.debug("%s", "".join(traceback.format_exception(exc)))
    record = logger.makeRecord(logger.name, logging.ERROR, __file__, 0, "%s", (str(exc),), None)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):  # the console gets the plain line below
            handler.handle(record)
    print(f"recipe-executor: {what}: {exc}", file=sys.stderr)
    if debug:
        traceback.print_exception(exc, file=sys.stderr)


def _print_summary(executor: Any, logger: logging.Logger) -> None:
    run = executor.last_run
    if run is None:
        return
    usage = run.peek_service("llm.usage")
    summary = getattr(usage, "summary", None)
    if callable(summary):
        text = summary()
        if text:
            logger.info("%s", text)
            print(text, file=sys.stderr)
