"""The recipe-executor CLI: flags, subcommands, logs, exit codes, secrets, Ctrl-C.

Most tests call ``main(argv)`` in-process; a few run the installed console script for real.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from recipe_executor.main import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, main
from recipe_executor.protocols import ContextProtocol
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.registry import STEP_REGISTRY

REPO = Path(__file__).resolve().parent.parent
SCRIPT = Path(sys.executable).parent / "recipe-executor"


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write_recipe(path: Path, *steps: dict[str, Any], **top: Any) -> str:
    path.write_text(json.dumps({**top, "steps": list(steps)}), encoding="utf-8")
    return str(path)


def echo_files(root: str = "out") -> dict[str, Any]:
    """A step writing the artifacts a, b and c into out/abc.txt."""
    return {"type": "write_files", "root": root, "files": [{"path": "abc.txt", "content": "{{ a }}|{{ b }}|{{ c }}"}]}


def all_logs(folder: Path) -> str:
    return "".join((folder / f"{name}.log").read_text(encoding="utf-8") for name in ("debug", "info", "error"))


def test_main_runs_a_recipe_with_context_pairs_repeated_and_grouped(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    code = main([recipe, "--context", "a=1", "b=x=y", "--context", "c=three words"])
    assert code == EXIT_OK
    assert (in_tmp / "out" / "abc.txt").read_text() == "1|x=y|three words"


def test_main_accepts_the_recipe_after_the_pairs(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main(["--context", "a=1", "b=2", recipe, "--context", "c=3"]) == EXIT_OK
    assert (in_tmp / "out" / "abc.txt").read_text() == "1|2|3"


def test_main_run_subcommand_is_the_same_as_the_bare_form(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main(["run", recipe, "--context", "a=A", "b=B", "c=C"]) == EXIT_OK
    assert (in_tmp / "out" / "abc.txt").read_text() == "A|B|C"


def test_main_writes_debug_info_and_error_logs_in_the_log_dir(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main([recipe, "--log-dir", "my-logs", "--context", "a=1", "b=2", "c=3"]) == EXIT_OK
    info = (in_tmp / "my-logs" / "info.log").read_text()
    assert "Recipe execution completed successfully" in info
    assert (in_tmp / "my-logs" / "debug.log").exists()
    assert (in_tmp / "my-logs" / "error.log").read_text() == ""


def test_main_step_failure_prints_one_line_without_traceback(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(in_tmp / "r.json", {"type": "read_files", "path": "missing.md", "content_key": "x"})
    assert main([recipe]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "r.json › steps[0] read_files: file not found: 'missing.md'" in err
    assert "Traceback" not in err
    assert "file not found" in (in_tmp / "logs" / "error.log").read_text()
    assert "Traceback" in (in_tmp / "logs" / "debug.log").read_text()


def test_main_debug_flag_prints_the_traceback(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(in_tmp / "r.json", {"type": "read_files", "path": "missing.md", "content_key": "x"})
    assert main([recipe, "--debug"]) == EXIT_ERROR
    assert "Traceback" in capsys.readouterr().err


def test_main_missing_recipe_file_is_exit_1_with_a_clear_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nowhere.json"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "recipe file not found: 'nowhere.json'" in err
    assert "Traceback" not in err


def test_main_validate_accepts_a_valid_tree_and_runs_nothing(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main(["validate", recipe]) == EXIT_OK
    assert "valid" in capsys.readouterr().out
    assert not (in_tmp / "out").exists()
    assert not (in_tmp / "logs").exists()


def test_main_validate_reports_every_problem_and_exits_1(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(
        in_tmp / "r.json",
        {"type": "red_files", "path": "x", "content_key": "y"},
        {"type": "set_context", "key": "k", "value": "{% if %}"},
    )
    assert main(["validate", recipe]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "did you mean 'read_files'" in err
    assert "steps[1] set_context" in err
    assert "Traceback" not in err


def test_main_invalid_recipe_runs_nothing(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", echo_files(), {"type": "nope"})
    assert main([recipe, "--context", "a=1"]) == EXIT_ERROR
    assert not (in_tmp / "out").exists()


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["r.json", "--context", "novalue"],
        ["r.json", "--context", "=x"],
        ["r.json", "--unknown-flag"],
        ["r.json", "--log-level", "loud"],
        ["r.json", "--max-depth", "-1"],
        ["r.json", "--max-depth", "many"],
    ],
)
def test_main_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "usage:" in err
    assert "Traceback" not in err


def test_main_help_and_version_exit_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == EXIT_OK
    assert "--context" in capsys.readouterr().out
    assert main(["validate", "--help"]) == EXIT_OK
    assert main(["--version"]) == EXIT_OK
    assert "recipe-executor" in capsys.readouterr().out


class LeakyConfig(StepConfig):
    pass


class LeakyStep(BaseStep[LeakyConfig]):
    """A careless custom step: logs the whole config and fails with a key in its message."""

    async def execute(self, context: ContextProtocol) -> None:
        config = context.get_config()
        self.logger.info("config is %s", config)
        self.logger.debug("key %s", config["openai_api_key"])
        raise RuntimeError(f"the API rejected key {config['openai_api_key']} and {config['brave']}")


def test_main_config_secrets_never_reach_the_logs_or_the_console(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    STEP_REGISTRY["leaky"] = LeakyStep
    recipe = write_recipe(in_tmp / "r.json", {"type": "leaky"})
    secret, other = "sk-test-0123456789abcdef", "brave-secret-value"
    code = main([recipe, "--log-level", "DEBUG", "--debug", "--config", f"openai_api_key={secret}", f"brave={other}",
                 "--config", "model=openai/gpt-4o"])
    assert code == EXIT_ERROR
    captured = capsys.readouterr()
    logs = all_logs(in_tmp / "logs")
    assert "the API rejected key ***" in logs
    assert "openai/gpt-4o" in logs  # a harmless value stays readable
    for text in (logs, captured.err, captured.out):
        assert secret not in text
        assert other not in text


class ConfigDumpConfig(StepConfig):
    key: str


class ConfigDumpStep(BaseStep[ConfigDumpConfig]):
    """Writes one config value to config.out, so a test can see what the run was given."""

    async def execute(self, context: ContextProtocol) -> None:
        Path("config.out").write_text(repr(context.get_config().get(self.config.key)), encoding="utf-8")


def test_main_loads_dotenv_and_recipe_env_vars(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RE_TEST_SETTING", raising=False)  # restored (removed) after the test
    (in_tmp / ".env").write_text("RE_TEST_SETTING=from-dotenv\n", encoding="utf-8")
    STEP_REGISTRY["config_dump"] = ConfigDumpStep
    dump = {"type": "config_dump", "key": "re_test_setting"}
    recipe = write_recipe(in_tmp / "r.json", dump, env_vars=["RE_TEST_SETTING"])
    assert main([recipe]) == EXIT_OK
    assert (in_tmp / "config.out").read_text() == "'from-dotenv'"


def test_main_config_booleans_and_json_are_parsed(in_tmp: Path) -> None:
    STEP_REGISTRY["config_dump"] = ConfigDumpStep
    recipe = write_recipe(in_tmp / "r.json", {"type": "config_dump", "key": "azure_use_managed_identity"})
    assert main([recipe, "--config", "azure_use_managed_identity=false"]) == EXIT_OK
    assert (in_tmp / "config.out").read_text() == "False"
    recipe = write_recipe(in_tmp / "r.json", {"type": "config_dump", "key": "mcp_servers"})
    assert main([recipe, "--config", 'mcp_servers=[{"url": "http://127.0.0.1:1/sse"}]']) == EXIT_OK
    assert (in_tmp / "config.out").read_text() == "[{'url': 'http://127.0.0.1:1/sse'}]"


def test_main_unwritable_default_log_dir_falls_back_to_the_console(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_tmp / "logs").write_text("a file where the folder would go")
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main([recipe, "--context", "a=1", "b=2", "c=3"]) == EXIT_OK
    assert "logging to the console only" in capsys.readouterr().err


def test_main_unwritable_explicit_log_dir_is_an_error(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_tmp / "blocker").write_text("x")
    recipe = write_recipe(in_tmp / "r.json", echo_files())
    assert main([recipe, "--log-dir", "blocker/logs"]) == EXIT_ERROR
    assert "cannot create log folder 'blocker/logs'" in capsys.readouterr().err


def test_main_strict_turns_unknown_keys_into_errors(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(in_tmp / "r.json", {"type": "set_context", "key": "k", "value": "v", "if_exist": "merge"})
    assert main(["validate", recipe]) == EXIT_OK
    assert "did you mean 'if_exists'" in capsys.readouterr().err
    assert main(["validate", recipe, "--strict"]) == EXIT_ERROR


def test_main_max_depth_limits_recursion(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    recipe = write_recipe(in_tmp / "r.json", {"type": "execute_recipe", "recipe_path": "r.json"})
    assert main([recipe, "--max-depth", "3"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "nested more than 3 levels deep" in err
    assert "Traceback" not in err


# -- real subprocesses of the installed console script ------------------------------------------------


def test_console_script_runs_the_seed_example(in_tmp: Path) -> None:
    result = subprocess.run(
        [str(SCRIPT), str(REPO / "examples" / "parallel" / "main.json"),
         "--context", "shared_input=hello parallel world", f"output_root={in_tmp / 'out'}"],
        capture_output=True, text=True, timeout=50, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (in_tmp / "out" / "subtask_a.txt").read_text() == "Subtask A saw: HELLO PARALLEL WORLD\n"
    assert (in_tmp / "out" / "subtask_b.txt").read_text() == "1. hello\n2. parallel\n3. world\n"
    assert (in_tmp / "logs" / "info.log").exists()


def test_python_dash_m_runs_the_cli(in_tmp: Path) -> None:
    recipe = write_recipe(in_tmp / "r.json", {"type": "read_files", "path": "missing.md", "content_key": "x"})
    result = subprocess.run([sys.executable, "-m", "recipe_executor", recipe], capture_output=True, text=True,
                            timeout=50, check=False)
    assert result.returncode == EXIT_ERROR
    assert "file not found: 'missing.md'" in result.stderr


BLOCKING_PLUGIN = '''
from pathlib import Path

import anyio

from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.registry import register_step


class BlockConfig(StepConfig):
    marker: str


@register_step("block_forever")
class BlockStep(BaseStep[BlockConfig]):
    async def execute(self, context):
        Path(self.config.marker).write_text("ready")
        await anyio.sleep_forever()
'''


def test_console_script_ctrl_c_exits_130_without_traceback(in_tmp: Path) -> None:
    (in_tmp / "blockplugin.py").write_text(BLOCKING_PLUGIN, encoding="utf-8")
    recipe = write_recipe(in_tmp / "r.json", {"type": "block_forever", "marker": "ready.txt"})
    env = {**os.environ, "PYTHONPATH": str(in_tmp)}
    proc = subprocess.Popen([str(SCRIPT), recipe, "--plugin", "blockplugin"], cwd=in_tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 40
        while not (in_tmp / "ready.txt").exists():
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the recipe never reached its blocking step"
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=40)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == EXIT_INTERRUPTED, err
    assert "interrupted" in err
    assert "Traceback" not in err
    assert "Interrupted" in (in_tmp / "logs" / "error.log").read_text()


def test_main_prints_llm_usage_also_when_the_run_fails(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    llm = {"type": "llm_generate", "config": {"prompt": "p", "model": "test/demo", "output_format": "text"}}
    failing = {"type": "read_files", "config": {"path": "missing.txt", "content_key": "x"}}
    assert main([write_recipe(in_tmp / "r.json", llm, failing)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "LLM usage:" in err and "test/demo: 1 calls" in err
    assert err.rstrip().splitlines()[-1].startswith("recipe-executor: failed:")  # the error stays last
