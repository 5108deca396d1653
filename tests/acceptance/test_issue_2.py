"""Acceptance tests for issue 2 (core engine, the seed's ``parallel`` step, CLI, project set-up).

Black-box, written from the issue's words: the public API (``Executor``, ``Context``, step classes
built as ``StepClass(logger, config)``), the CLI in-process (``main(argv)``) and as a subprocess,
and real files in ``tmp_path``. Concurrency tests use anyio Events and counters, never timing races.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import Field

from recipe_executor import Context, Executor
from recipe_executor.errors import RecipeExecutorError
from recipe_executor.protocols import ContextProtocol
from recipe_executor.steps.base import BaseStep, StepConfig

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCRIPT = BIN / "recipe-executor"
LOG = logging.getLogger("acceptance.issue2")


# ---------------------------------------------------------------------------------------------
# helpers


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    return path


def recipe(*steps: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {**top, "steps": list(steps)}


async def run(source: Any, context: Context | None = None, executor: Executor | None = None) -> Context:
    context = context if context is not None else Context()
    with anyio.fail_after(20):
        await (executor or Executor(LOG)).execute(source, context)
    return context


def cli(
    args: list[str], cwd: Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [str(SCRIPT), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# A probe step for deterministic concurrency tests -------------------------------------------


class Probe:
    """Shared record of what probe steps did (one per test)."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []
        self.cancelled: list[str] = []
        self.cleaned: list[str] = []
        self.running = 0
        self.peak = 0
        self.events: dict[str, anyio.Event] = {}

    def event(self, name: str) -> anyio.Event:
        if name not in self.events:
            self.events[name] = anyio.Event()
        return self.events[name]


PROBE = Probe()


class ProbeConfig(StepConfig):
    name: str
    fire: list[str] = Field(default_factory=list)
    wait: list[str] = Field(default_factory=list)
    yields: int = 0  # scheduling points before finishing
    fail: bool = False
    block: bool = False
    write_key: str | None = None
    start_when: int = 0  # wait until this many probes have started


class ProbeStep(BaseStep[ProbeConfig]):
    def __init__(self, logger: logging.Logger, config: dict[str, Any]) -> None:
        super().__init__(logger, ProbeConfig(**config))  # upstream's custom-step idiom

    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        PROBE.started.append(cfg.name)
        PROBE.running += 1
        PROBE.peak = max(PROBE.peak, PROBE.running)
        try:
            for name in cfg.fire:
                PROBE.event(name).set()
            while len(PROBE.started) < cfg.start_when:
                await anyio.sleep(0.001)
            for name in cfg.wait:
                await PROBE.event(name).wait()
            for _ in range(cfg.yields):
                await anyio.sleep(0)
            if cfg.write_key:
                context[cfg.write_key] = cfg.name
            if cfg.fail:
                raise RuntimeError(f"probe {cfg.name} failed on purpose")
            if cfg.block:
                await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            PROBE.cancelled.append(cfg.name)
            raise
        finally:
            PROBE.running -= 1
            PROBE.cleaned.append(cfg.name)
        PROBE.finished.append(cfg.name)


@pytest.fixture
def probe(registry: dict[str, type]) -> Iterator[Probe]:
    global PROBE
    PROBE = Probe()
    registry["probe"] = ProbeStep
    yield PROBE


def p(name: str, **kw: Any) -> dict[str, Any]:
    return {"type": "probe", "name": name, **kw}


# =============================================================================================
# 1. Package and API


def test_seed_api_names_and_field_defaults() -> None:
    from recipe_executor.steps.base import StepConfig as BaseConfig
    from recipe_executor.steps.parallel import ParallelConfig, ParallelStep
    from recipe_executor.steps.registry import STEP_REGISTRY

    assert issubclass(ParallelConfig, BaseConfig)
    cfg = ParallelConfig(substeps=[{"type": "set_context", "key": "a", "value": "b"}])
    assert cfg.max_concurrency == 0
    assert cfg.delay == 0
    assert cfg.substeps == [{"type": "set_context", "key": "a", "value": "b"}]
    assert STEP_REGISTRY["parallel"] is ParallelStep
    STEP_REGISTRY["parallel"] = ParallelStep  # the seed's registration line works
    assert STEP_REGISTRY["parallel"] is ParallelStep


def test_importing_the_package_registers_the_builtin_steps() -> None:
    code = (
        "import recipe_executor\n"
        "from recipe_executor.steps.registry import STEP_REGISTRY\n"
        "print(sorted(STEP_REGISTRY))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    for name in ("parallel", "execute_recipe", "set_context", "read_files", "write_files"):
        assert name in out


def test_python_dash_m_and_console_script_exist(tmp_path: Path) -> None:
    assert SCRIPT.exists()
    res = subprocess.run([sys.executable, "-m", "recipe_executor", "--help"], capture_output=True, text=True)
    assert res.returncode == 0
    assert "recipe" in res.stdout.lower()
    path = write_json(tmp_path / "r.json", recipe({"type": "set_context", "key": "a", "value": "1"}))
    res = subprocess.run([sys.executable, "-m", "recipe_executor", str(path)], cwd=tmp_path, capture_output=True,
                         text=True)
    assert res.returncode == 0, res.stderr


async def test_executor_accepts_path_json_text_dict_and_recipe_model(tmp_path: Path) -> None:
    from recipe_executor.models import Recipe

    data = recipe({"type": "set_context", "key": "out", "value": "{{ v }}!"})
    path = write_json(tmp_path / "r.json", data)
    for source in (str(path), path, json.dumps(data), data, Recipe.model_validate(data)):
        ctx = await run(source, Context(artifacts={"v": "x"}))
        assert ctx["out"] == "x!", source


async def test_executor_accepts_a_recipe_model_in_upstream_shape() -> None:
    from recipe_executor.models import Recipe

    model = Recipe.model_validate({"steps": [{"type": "set_context", "config": {"key": "k", "value": "v"}}]})
    ctx = await run(model)
    assert ctx["k"] == "v"


def test_context_api() -> None:
    ctx = Context(artifacts={"a": 1, "b": [1, 2]}, config={"model": "m"})
    assert ctx["a"] == 1
    assert ctx.get("missing") is None
    assert ctx.get("missing", 5) == 5
    assert "a" in ctx and "zz" not in ctx
    ctx["c"] = {"x": 1}
    assert sorted(ctx.keys()) == ["a", "b", "c"]
    assert sorted(ctx) == ["a", "b", "c"]
    assert len(ctx) == 3
    del ctx["a"]
    assert "a" not in ctx
    with pytest.raises(KeyError):
        _ = ctx["a"]
    with pytest.raises(KeyError):
        del ctx["a"]
    assert ctx.dict() == {"b": [1, 2], "c": {"x": 1}}
    assert json.loads(ctx.json()) == {"b": [1, 2], "c": {"x": 1}}
    assert ctx.get_config() == {"model": "m"}
    ctx.set_config({"model": "other"})
    assert ctx.get_config() == {"model": "other"}
    clone = ctx.clone()
    assert isinstance(clone, Context)
    assert clone.dict() == ctx.dict()
    assert clone.get_config() == {"model": "other"}
    assert Context().dict() == {}


def test_context_dict_and_get_config_are_copies() -> None:
    ctx = Context(artifacts={"b": [1]}, config={"l": [1]})
    ctx.dict()["b"].append(2)
    ctx.get_config()["l"].append(2)
    assert ctx["b"] == [1]
    assert ctx.get_config() == {"l": [1]}


def test_protocols_exist_and_match_the_implementations() -> None:
    from recipe_executor.protocols import ContextProtocol, ExecutorProtocol, StepProtocol
    from recipe_executor.steps.set_context import SetContextStep

    assert isinstance(Context(), ContextProtocol)
    assert isinstance(Executor(LOG), ExecutorProtocol)
    assert isinstance(SetContextStep(LOG, {"key": "a", "value": "b"}), StepProtocol)


async def test_custom_step_written_for_upstream_runs_unchanged(registry: dict[str, type]) -> None:
    from recipe_executor.steps.registry import STEP_REGISTRY

    class ShoutConfig(StepConfig):
        text: str
        output_key: str = "shout"

    class ShoutStep(BaseStep[ShoutConfig]):
        def __init__(self, logger: logging.Logger, config: dict[str, Any]) -> None:
            super().__init__(logger, ShoutConfig(**config))

        async def execute(self, context: ContextProtocol) -> None:
            context[self.config.output_key] = self.config.text.upper()

    STEP_REGISTRY["shout"] = ShoutStep
    step = ShoutStep(LOG, {"text": "hi"})
    ctx = Context()
    await step.execute(ctx)
    assert ctx["shout"] == "HI"
    ctx = await run(recipe({"type": "shout", "config": {"text": "a"}},
                           {"type": "shout", "text": "b", "output_key": "o"}))
    assert ctx["shout"] == "A" and ctx["o"] == "B"


def test_builtin_steps_are_built_as_step_class_logger_config() -> None:
    from recipe_executor.steps.execute_recipe import ExecuteRecipeStep
    from recipe_executor.steps.parallel import ParallelStep
    from recipe_executor.steps.read_files import ReadFilesStep
    from recipe_executor.steps.set_context import SetContextStep
    from recipe_executor.steps.write_files import WriteFilesStep

    SetContextStep(LOG, {"key": "a", "value": "b"})
    ReadFilesStep(LOG, {"path": "x", "content_key": "k"})
    WriteFilesStep(LOG, {"files": [{"path": "a", "content": "b"}]})
    ExecuteRecipeStep(LOG, {"recipe_path": "x.json"})
    ParallelStep(LOG, {"substeps": []})


async def test_step_execute_directly_on_a_context(tmp_path: Path) -> None:
    from recipe_executor.steps.parallel import ParallelStep

    step = ParallelStep(LOG, {"substeps": [{"type": "write_files", "root": str(tmp_path),
                                            "files": [{"path": "f.txt", "content": "{{ x }}"}]}]})
    await step.execute(Context(artifacts={"x": "direct"}))
    assert (tmp_path / "f.txt").read_text() == "direct"


PLUGIN_SRC = '''
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.registry import STEP_REGISTRY


class StampConfig(StepConfig):
    value: str


class StampStep(BaseStep[StampConfig]):
    def __init__(self, logger, config):
        super().__init__(logger, StampConfig(**config))

    async def execute(self, context):
        context["stamp"] = self.config.value
        with open("stamp.txt", "w") as handle:
            handle.write(self.config.value)

STEP_REGISTRY["{name}"] = StampStep
'''


def test_cli_plugin_flag_registers_steps_and_is_repeatable(tmp_path: Path) -> None:
    (tmp_path / "plug_one.py").write_text(PLUGIN_SRC.replace("{name}", "stamp_one"))
    (tmp_path / "plug_two.py").write_text(PLUGIN_SRC.replace("{name}", "stamp_two"))
    write_json(tmp_path / "r.json", recipe({"type": "stamp_one", "value": "1"}, {"type": "stamp_two", "value": "2"}))
    res = cli(["r.json", "--plugin", "plug_one", "--plugin", "plug_two"], tmp_path, {"PYTHONPATH": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "stamp.txt").read_text() == "2"


def test_cli_plugin_that_takes_a_builtin_name_is_an_error_naming_both_classes(tmp_path: Path) -> None:
    (tmp_path / "clash.py").write_text(PLUGIN_SRC.replace("{name}", "write_files"))
    write_json(tmp_path / "r.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    res = cli(["r.json", "--plugin", "clash"], tmp_path, {"PYTHONPATH": str(tmp_path)})
    assert res.returncode != 0
    assert "StampStep" in res.stderr and "WriteFilesStep" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_missing_plugin_module_is_a_clear_error(tmp_path: Path) -> None:
    write_json(tmp_path / "r.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    res = cli(["r.json", "--plugin", "no_such_plugin_mod"], tmp_path)
    assert res.returncode in (1, 2)
    assert "no_such_plugin_mod" in res.stderr
    assert "Traceback" not in res.stderr


def _make_entry_point_dist(site: Path, name: str, target: str, module_src: str, module: str) -> None:
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[recipe_executor.steps]\n{name} = {target}\n")
    (site / f"{module}.py").write_text(module_src)


def test_entry_point_group_declares_steps(tmp_path: Path) -> None:
    site = tmp_path / "site"
    src = PLUGIN_SRC.replace('STEP_REGISTRY["{name}"] = StampStep', "")
    _make_entry_point_dist(site, "ep_stamp", "acc_ep_plugin:StampStep", src, "acc_ep_plugin")
    write_json(tmp_path / "r.json", recipe({"type": "ep_stamp", "value": "from-ep"}))
    res = cli(["r.json"], tmp_path, {"PYTHONPATH": str(site)})
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "stamp.txt").read_text() == "from-ep"


def test_entry_point_with_a_taken_name_is_an_error_naming_both_classes(tmp_path: Path) -> None:
    site = tmp_path / "site"
    src = PLUGIN_SRC.replace('STEP_REGISTRY["{name}"] = StampStep', "")
    _make_entry_point_dist(site, "set_context", "acc_ep_clash:StampStep", src, "acc_ep_clash")
    write_json(tmp_path / "r.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    res = cli(["r.json"], tmp_path, {"PYTHONPATH": str(site)})
    assert res.returncode != 0
    assert "StampStep" in res.stderr and "SetContextStep" in res.stderr
    assert "Traceback" not in res.stderr


def test_register_step_refuses_a_second_class_under_a_taken_name(registry: dict[str, type]) -> None:
    from recipe_executor import register_step

    class One(BaseStep[StepConfig]):
        pass

    class Two(BaseStep[StepConfig]):
        pass

    register_step("acc_dup", One)
    register_step("acc_dup", One)  # same class again is fine
    with pytest.raises(RecipeExecutorError) as info:
        register_step("acc_dup", Two)
    assert "One" in str(info.value) and "Two" in str(info.value)


# =============================================================================================
# 2. Recipe format


async def test_top_level_documentation_fields_are_allowed(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = recipe(
        {"type": "set_context", "key": "a", "value": "b"},
        name="demo", description="d", inputs={"x": "y"}, outputs=["a"], env_vars=["HOME"],
    )
    with caplog.at_level(logging.WARNING):
        ctx = await run(data)
    assert ctx["a"] == "b"
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_both_step_shapes_at_top_level_and_in_parallel_substeps(tmp_path: Path) -> None:
    data = recipe(
        {"type": "set_context", "config": {"key": "a", "value": "upstream"}},
        {"type": "set_context", "key": "b", "value": "inline"},
        {"type": "parallel", "config": {"substeps": [
            {"type": "write_files",
             "config": {"root": str(tmp_path), "files": [{"path": "1.txt", "content": "{{ a }}"}]}},
            {"type": "write_files", "root": str(tmp_path), "files": [{"path": "2.txt", "content": "{{ b }}"}]},
        ]}},
        {"type": "parallel", "substeps": [
            {"type": "write_files", "config": {"root": str(tmp_path), "files": [{"path": "3.txt", "content": "x"}]}},
        ]},
    )
    ctx = await run(data)
    assert ctx["a"] == "upstream" and ctx["b"] == "inline"
    assert (tmp_path / "1.txt").read_text() == "upstream"
    assert (tmp_path / "2.txt").read_text() == "inline"
    assert (tmp_path / "3.txt").read_text() == "x"


async def test_both_step_shapes_in_loop_and_conditional_step_lists(tmp_path: Path) -> None:
    data = recipe(
        {"type": "loop", "items": ["a", "b"], "item_key": "it", "result_key": "res", "substeps": [
            {"type": "set_context", "key": "x", "value": "{{ it }}1"},
            {"type": "set_context", "config": {"key": "y", "value": "{{ it }}2"}},
        ]},
        {"type": "conditional", "condition": "true", "if_true": {"steps": [
            {"type": "set_context", "key": "c1", "value": "inline"},
            {"type": "set_context", "config": {"key": "c2", "value": "upstream"}},
        ]}},
    )
    ctx = await run(data)
    assert ctx["c1"] == "inline" and ctx["c2"] == "upstream"
    assert len(ctx["res"]) == 2


@pytest.mark.parametrize("where", ["top", "parallel", "loop"])
async def test_a_step_mixing_both_shapes_is_an_error_and_nothing_runs(tmp_path: Path, where: str) -> None:
    mixed = {"type": "set_context", "key": "a", "config": {"value": "b"}}
    first = {"type": "write_files", "root": str(tmp_path), "files": [{"path": "ran.txt", "content": "x"}]}
    if where == "top":
        data = recipe(first, mixed)
    elif where == "parallel":
        data = recipe(first, {"type": "parallel", "substeps": [mixed]})
    else:
        data = recipe(first, {"type": "loop", "items": [1], "item_key": "i", "substeps": [mixed]})
    with pytest.raises(RecipeExecutorError) as info:
        await run(data)
    assert "config" in str(info.value)
    assert "steps[1]" in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


# =============================================================================================
# 3. execute_recipe


async def test_execute_recipe_path_is_a_template(in_tmp: Path) -> None:
    write_json(in_tmp / "subs" / "child.json", recipe({"type": "set_context", "key": "ran", "value": "child"}))
    ctx = await run(recipe({"type": "execute_recipe", "recipe_path": "subs/{{ which }}.json"}),
                    Context(artifacts={"which": "child"}))
    assert ctx["ran"] == "child"


async def test_execute_recipe_resolves_against_cwd_first_then_beside_the_caller(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe({"type": "set_context", "key": "who", "value": "cwd"}))
    write_json(in_tmp / "recipes" / "sub.json", recipe({"type": "set_context", "key": "who", "value": "beside"}))
    main = write_json(in_tmp / "recipes" / "main.json", recipe({"type": "execute_recipe", "recipe_path": "sub.json"}))
    assert (await run(str(main)))["who"] == "cwd"
    (in_tmp / "sub.json").unlink()
    assert (await run(str(main)))["who"] == "beside"


async def test_execute_recipe_beside_the_caller_in_nested_sub_recipes(in_tmp: Path) -> None:
    write_json(in_tmp / "a" / "main.json", recipe({"type": "execute_recipe", "recipe_path": "b/mid.json"}))
    write_json(in_tmp / "a" / "b" / "mid.json", recipe({"type": "execute_recipe", "recipe_path": "leaf.json"}))
    write_json(in_tmp / "a" / "b" / "leaf.json", recipe({"type": "set_context", "key": "leaf", "value": "yes"}))
    assert (await run(str(in_tmp / "a" / "main.json")))["leaf"] == "yes"


async def test_execute_recipe_missing_file_is_a_clear_error(in_tmp: Path) -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "execute_recipe", "recipe_path": "{{ name }}.json"}),
                  Context(artifacts={"name": "nope"}))
    assert "nope.json" in str(info.value)
    assert "steps[0] execute_recipe" in str(info.value)


async def test_execute_recipe_overrides_render_recursively_and_parse_json(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe(
        {"type": "set_context", "key": "seen", "value": {"flags": "{{ flags }}", "n": "{{ nested }}",
                                                          "l": "{{ lst }}", "obj": "{{ obj }}", "s": "{{ plain }}"}},
    ))
    overrides = {
        "flags": '{"a": true, "b": false, "c": null}',
        "lst": "[1, 2, true]",
        "nested": {"inner": "{{ name }}", "arr": ["{{ name }}", {"deep": "{{ name }}!"}]},
        "obj": "{{ source | json }}",
        "plain": "hello {{ name }}",
    }
    ctx = await run(recipe({"type": "execute_recipe", "recipe_path": "sub.json", "context_overrides": overrides}),
                    Context(artifacts={"name": "Ada", "source": {"ok": True, "none": None}}))
    seen = ctx["seen"]
    assert seen["flags"] == {"a": True, "b": False, "c": None}
    assert seen["l"] == [1, 2, True]
    assert seen["n"] == {"inner": "Ada", "arr": ["Ada", {"deep": "Ada!"}]}
    assert seen["obj"] == {"ok": True, "none": None}
    assert seen["s"] == "hello Ada"


async def test_execute_recipe_overrides_are_scoped_other_writes_stay(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe(
        {"type": "set_context", "key": "seen_x", "value": "{{ x }}"},
        {"type": "set_context", "key": "seen_y", "value": "{{ y }}"},
        {"type": "set_context", "key": "written", "value": "by sub"},
        {"type": "set_context", "key": "x", "value": "sub changed x"},
    ))
    ctx = await run(
        recipe({"type": "execute_recipe", "recipe_path": "sub.json", "context_overrides": {"x": "over", "y": "tmp"}}),
        Context(artifacts={"x": "orig"}),
    )
    assert ctx["seen_x"] == "over" and ctx["seen_y"] == "tmp"
    assert ctx["x"] == "orig"
    assert "y" not in ctx
    assert ctx["written"] == "by sub"


async def test_execute_recipe_overrides_restored_even_when_sub_recipe_fails(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe({"type": "read_files", "path": "missing.txt", "content_key": "c"}))
    ctx = Context(artifacts={"x": "orig"})
    with pytest.raises(RecipeExecutorError):
        await run(recipe({"type": "execute_recipe", "recipe_path": "sub.json",
                          "context_overrides": {"x": "over", "y": "tmp"}}), ctx)
    assert ctx["x"] == "orig" and "y" not in ctx


async def test_execute_recipe_recursion_is_allowed(in_tmp: Path) -> None:
    write_json(in_tmp / "rec.json", recipe(
        {"type": "set_context", "key": "n", "value": "{{ n | plus: 1 }}"},
        {"type": "execute_recipe", "recipe_path": "{% if n < 5 %}rec.json{% else %}stop.json{% endif %}"},
    ))
    write_json(in_tmp / "stop.json", recipe({"type": "set_context", "key": "done", "value": "{{ n }}"}))
    ctx = await run("rec.json", Context(artifacts={"n": 0}))
    assert str(ctx["done"]) == "5"


async def test_execute_recipe_endless_recursion_hits_the_default_limit_of_64(in_tmp: Path) -> None:
    write_json(in_tmp / "loop.json", recipe(
        {"type": "set_context", "key": "depth", "value": "{{ depth | plus: 1 }}"},
        {"type": "execute_recipe", "recipe_path": "loop.json"},
    ))
    ctx = Context(artifacts={"depth": 0})
    with pytest.raises(RecipeExecutorError) as info:
        await run("loop.json", ctx)
    assert not isinstance(info.value, RecursionError)
    text = str(info.value)
    assert "64" in text
    assert "maximum recursion depth" not in text
    assert "loop.json" in text
    assert int(ctx["depth"]) in (64, 65)


async def test_execute_recipe_depth_limit_is_configurable(in_tmp: Path) -> None:
    from recipe_executor import RunOptions

    write_json(in_tmp / "rec.json", recipe(
        {"type": "set_context", "key": "n", "value": "{{ n | plus: 1 }}"},
        {"type": "execute_recipe", "recipe_path": "{% if n < 100 %}rec.json{% else %}stop.json{% endif %}"},
    ))
    write_json(in_tmp / "stop.json", recipe({"type": "set_context", "key": "done", "value": "yes"}))
    with pytest.raises(RecipeExecutorError) as info:
        await run("rec.json", Context(artifacts={"n": 0}))  # 100 > 64
    assert "64" in str(info.value)
    ctx = await run("rec.json", Context(artifacts={"n": 0}), Executor(LOG, options=RunOptions(max_depth=150)))
    assert ctx["done"] == "yes"
    with pytest.raises(RecipeExecutorError) as info:
        await run("rec.json", Context(artifacts={"n": 0}), Executor(LOG, options=RunOptions(max_depth=3)))
    assert "3" in str(info.value)


def test_cli_max_depth_flag(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recipe_executor.main import main

    write_json(in_tmp / "loop.json", recipe({"type": "execute_recipe", "recipe_path": "loop.json"}))
    assert main(["loop.json", "--max-depth", "5"]) == 1
    err = capsys.readouterr().err
    assert "5" in err and "Traceback" not in err and "RecursionError" not in err


# =============================================================================================
# 3. set_context


@pytest.mark.parametrize("value", [True, False, 5, 2.5, None, [1, "a", None], {"k": [True]}, "text"])
async def test_set_context_accepts_any_json_value(value: Any) -> None:
    ctx = await run(recipe({"type": "set_context", "key": "v", "value": value}))
    assert ctx["v"] == value
    assert type(ctx["v"]) is type(value)


async def test_set_context_renders_strings_recursively() -> None:
    ctx = await run(recipe({"type": "set_context", "key": "v",
                            "value": {"a": "{{ name }}", "b": ["x {{ name }}", {"c": "{{ name | upcase }}"}], "n": 3}}),
                    Context(artifacts={"name": "ada"}))
    assert ctx["v"] == {"a": "ada", "b": ["x ada", {"c": "ADA"}], "n": 3}


async def test_set_context_exact_expression_keeps_structure() -> None:
    ctx = await run(recipe({"type": "set_context", "key": "v", "value": "{{ items }}"}),
                    Context(artifacts={"items": [{"a": 1}, {"a": 2}]}))
    assert ctx["v"] == [{"a": 1}, {"a": 2}]


async def test_set_context_overwrite_is_default_and_merge_combines() -> None:
    ctx = Context(artifacts={"s": "ab", "l": [1], "d": {"a": 1}, "o": "old"})
    await run(recipe(
        {"type": "set_context", "key": "s", "value": "cd", "if_exists": "merge"},
        {"type": "set_context", "key": "l", "value": [2, 3], "if_exists": "merge"},
        {"type": "set_context", "key": "d", "value": {"b": 2}, "if_exists": "merge"},
        {"type": "set_context", "key": "o", "value": "new"},
        {"type": "set_context", "key": "fresh", "value": "f", "if_exists": "merge"},
        {"type": "set_context", "key": "o2", "value": "x", "if_exists": "overwrite"},
    ), ctx)
    assert ctx["s"] == "abcd"
    assert ctx["l"] == [1, 2, 3]
    assert ctx["d"] == {"a": 1, "b": 2}
    assert ctx["o"] == "new"
    assert ctx["fresh"] == "f"


async def test_set_context_invalid_if_exists_is_a_validation_error() -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "set_context", "key": "a", "value": "b", "if_exists": "append"}))
    assert "if_exists" in str(info.value)


async def test_set_context_nested_render_resolves_and_is_bounded() -> None:
    ctx = Context(artifacts={"tpl": "Hello {{ name }}", "name": "Ada", "a": "{{ b }}", "b": "{{ a }}"})
    await run(recipe(
        {"type": "set_context", "key": "greeting", "value": "{{ tpl }}", "nested_render": True},
        {"type": "set_context", "key": "cyc", "value": "{{ a }}", "nested_render": True},
    ), ctx)
    assert ctx["greeting"] == "Hello Ada"
    assert "cyc" in ctx  # it ended; a cycle never hangs


async def test_set_context_without_nested_render_renders_once() -> None:
    ctx = await run(recipe({"type": "set_context", "key": "g", "value": "{{ tpl }}"}),
                    Context(artifacts={"tpl": "Hello {{ name }}", "name": "Ada"}))
    assert ctx["g"] == "Hello {{ name }}"


# =============================================================================================
# 3. write_files


async def test_write_files_renders_content_and_path(tmp_path: Path) -> None:
    await run(recipe({"type": "write_files", "root": "{{ out }}",
                      "files": [{"path": "{{ name }}.txt", "content": "Hi {{ name }}"}]}),
              Context(artifacts={"out": str(tmp_path / "o"), "name": "ada"}))
    assert (tmp_path / "o" / "ada.txt").read_text() == "Hi ada"


async def test_write_files_from_files_key_and_content_key(tmp_path: Path) -> None:
    ctx = Context(artifacts={"gen": [{"path": "a.txt", "content": "A"}, {"path": "d/b.txt", "content": "B"}],
                             "body": {"k": 1}, "p": "c.json"})
    await run(recipe(
        {"type": "write_files", "root": str(tmp_path), "files_key": "gen"},
        {"type": "write_files", "root": str(tmp_path), "files": [{"path_key": "p", "content_key": "body"}]},
    ), ctx)
    assert (tmp_path / "a.txt").read_text() == "A"
    assert (tmp_path / "d" / "b.txt").read_text() == "B"
    assert json.loads((tmp_path / "c.json").read_text()) == {"k": 1}


@pytest.mark.parametrize("bad", ["../escape.txt", "sub/../../escape.txt", "/tmp/acc_issue2_abs.txt"])
async def test_write_files_refuses_paths_leaving_root(tmp_path: Path, bad: str) -> None:
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "write_files", "root": str(root), "files": [{"path": bad, "content": "x"}]}))
    assert bad in str(info.value)
    assert not (tmp_path / "escape.txt").exists()
    assert not Path("/tmp/acc_issue2_abs.txt").exists()


async def test_write_files_refuses_a_symlink_out_of_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "write_files", "root": str(root), "files": [{"path": "link/x.txt", "content": "x"}]}))
    assert "link/x.txt" in str(info.value)
    assert not (outside / "x.txt").exists()


async def test_write_files_path_produced_by_a_template_cannot_escape(tmp_path: Path) -> None:
    root = tmp_path / "root"
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "write_files", "root": str(root), "files": [{"path": "{{ p }}", "content": "x"}]}),
                  Context(artifacts={"p": "../../evil.txt"}))
    assert "../../evil.txt" in str(info.value)
    assert not (tmp_path.parent / "evil.txt").exists()


async def test_write_files_replaces_files_atomically(tmp_path: Path) -> None:
    target = tmp_path / "f.txt"
    target.write_text("old content")
    with target.open() as handle:  # an atomic replace leaves the old inode intact for readers
        await run(recipe({"type": "write_files", "root": str(tmp_path),
                          "files": [{"path": "f.txt", "content": "new"}]}))
        assert handle.read() == "old content"
    assert target.read_text() == "new"
    assert sorted(x.name for x in tmp_path.iterdir()) == ["f.txt"]  # no temporary files left


async def test_write_files_writes_non_string_content_as_json(tmp_path: Path) -> None:
    await run(recipe({"type": "write_files", "root": str(tmp_path),
                      "files": [{"path": "d.json", "content": "{{ data }}"}]}),
              Context(artifacts={"data": {"a": [1, True]}}))
    assert json.loads((tmp_path / "d.json").read_text()) == {"a": [1, True]}


# =============================================================================================
# 3. read_files


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "a.txt").write_text("A")
    (tmp_path / "b.txt").write_text("B")
    (tmp_path / "d.json").write_text('{"x": [1, true, null]}')
    (tmp_path / "e.yaml").write_text("k: v\nl: [1, 2]\n")
    (tmp_path / "deep" / "er").mkdir(parents=True)
    (tmp_path / "deep" / "er" / "c.md").write_text("C")
    return tmp_path


async def read(config: dict[str, Any], ctx: Context | None = None) -> Any:
    from recipe_executor.steps.read_files import ReadFilesStep

    ctx = ctx or Context()
    await ReadFilesStep(LOG, {"content_key": "out", **config}).execute(ctx)
    return ctx["out"]


async def test_read_files_single_comma_list_and_list(files: Path) -> None:
    a, b = str(files / "a.txt"), str(files / "b.txt")
    assert await read({"path": a}) == "A"
    concat = await read({"path": f"{a}, {b}"})
    assert "A" in concat and "B" in concat and concat.index("A") < concat.index("B")
    assert await read({"path": [a, b]}) == concat
    assert await read({"path": [a, b], "merge_mode": "dict"}) == {a: "A", b: "B"}
    assert await read({"path": f"{a},{b}", "merge_mode": "dict"}) == {a: "A", b: "B"}


async def test_read_files_globs(files: Path) -> None:
    got = await read({"path": str(files / "*.txt"), "merge_mode": "dict"})
    assert got == {str(files / "a.txt"): "A", str(files / "b.txt"): "B"}
    got = await read({"path": str(files / "**" / "*.md"), "merge_mode": "dict"})
    assert list(got.values()) == ["C"]


async def test_read_files_dict_mode_yields_a_dict_even_for_one_glob_match(files: Path) -> None:
    got = await read({"path": str(files / "a.*"), "merge_mode": "dict"})
    assert got == {str(files / "a.txt"): "A"}
    got = await read({"path": [str(files / "a.txt")], "merge_mode": "dict"})
    assert got == {str(files / "a.txt"): "A"}


async def test_read_files_parses_json_and_yaml(files: Path) -> None:
    assert await read({"path": str(files / "d.json")}) == {"x": [1, True, None]}
    assert await read({"path": str(files / "e.yaml")}) == {"k": "v", "l": [1, 2]}


async def test_read_files_optional_and_missing(files: Path) -> None:
    missing = str(files / "nope.txt")
    with pytest.raises(RecipeExecutorError) as info:
        await read({"path": missing})
    assert "nope.txt" in str(info.value)
    assert await read({"path": missing, "optional": True}) == ""
    assert await read({"path": f"{files / 'a.txt'},{missing}", "optional": True}) == "A"
    assert await read({"path": [missing, str(files / "zz.txt")], "optional": True, "merge_mode": "dict"}) == {}


async def test_read_files_templated_path(files: Path) -> None:
    assert await read({"path": "{{ d }}/a.txt"}, Context(artifacts={"d": str(files)})) == "A"


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"caf\xe9 latin-1 \xff\xfe"])
async def test_read_files_binary_or_undecodable_file_is_a_clear_error(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "blob.bin").write_bytes(data)
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "read_files", "path": str(tmp_path / "blob.bin"), "content_key": "c"}))
    text = str(info.value)
    assert "blob.bin" in text
    assert "steps[0] read_files" in text
    assert "codec" not in text or "UTF-8" in text or "utf-8" in text


# =============================================================================================
# 4. parallel


async def test_parallel_runs_any_step_type_on_clones_that_are_discarded(tmp_path: Path) -> None:
    ctx = Context(artifacts={"shared": "S", "lst": [1]})
    await run(recipe({"type": "parallel", "substeps": [
        {"type": "set_context", "key": "shared", "value": "changed"},
        {"type": "set_context", "key": "new_key", "value": "x"},
        {"type": "set_context", "key": "lst", "value": [9], "if_exists": "merge"},
        {"type": "write_files", "root": str(tmp_path), "files": [{"path": "s.txt", "content": "{{ shared }}"}]},
    ]}), ctx)
    assert ctx["shared"] == "S"
    assert "new_key" not in ctx
    assert ctx["lst"] == [1]
    assert (tmp_path / "s.txt").read_text() == "S"


async def test_parallel_with_execute_recipe_seed_example(in_tmp: Path) -> None:
    for name in ("a", "b"):
        write_json(in_tmp / "recipes" / f"subtask_{name}.json", recipe(
            {"type": "write_files", "root": "out", "files": [{"path": f"{name}.txt", "content": "{{ input_data }}"}]}))
    write_json(in_tmp / "main.json", recipe({"type": "parallel", "substeps": [
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_a.json",
         "context_overrides": {"input_data": "{{shared_input}}"}},
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_b.json",
         "context_overrides": {"input_data": "{{shared_input}}"}},
    ], "max_concurrency": 2, "delay": 0.05}))
    ctx = await run("main.json", Context(artifacts={"shared_input": "hello"}))
    assert (in_tmp / "out" / "a.txt").read_text() == "hello"
    assert (in_tmp / "out" / "b.txt").read_text() == "hello"
    assert "input_data" not in ctx


async def test_parallel_zero_means_no_limit(probe: Probe) -> None:
    n = 6
    subs = [p(f"s{i}", start_when=n) for i in range(n)]  # each waits until all have started
    await run(recipe({"type": "parallel", "substeps": subs, "max_concurrency": 0}))
    assert probe.peak == n
    assert sorted(probe.finished) == sorted(f"s{i}" for i in range(n))


async def test_parallel_default_has_no_limit(probe: Probe) -> None:
    subs = [p(f"s{i}", start_when=4) for i in range(4)]
    await run(recipe({"type": "parallel", "substeps": subs}))
    assert probe.peak == 4


async def test_parallel_max_concurrency_bounds_running_substeps(probe: Probe) -> None:
    # each substep yields a few times, so without the limit all eight would overlap
    await run(recipe({"type": "parallel", "substeps": [p(f"s{i}", yields=5) for i in range(8)], "max_concurrency": 2}))
    assert probe.peak == 2
    assert len(probe.finished) == 8


@pytest.mark.parametrize("field", ["max_concurrency", "delay", "timeout"])
async def test_parallel_negative_numbers_are_validation_errors(tmp_path: Path, field: str) -> None:
    first = {"type": "write_files", "root": str(tmp_path), "files": [{"path": "ran.txt", "content": "x"}]}
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe(first, {"type": "parallel", "substeps": [], field: -1}))
    assert field in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


async def test_parallel_delay_first_starts_at_once_then_spaced(probe: Probe) -> None:
    started = time.monotonic()
    await run(recipe({"type": "parallel", "substeps": [p("only")], "delay": 30}))
    assert time.monotonic() - started < 10  # the first substep is not delayed
    starts: list[float] = []

    class Stamp(BaseStep[StepConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            starts.append(time.monotonic())

    from recipe_executor.steps.registry import STEP_REGISTRY

    STEP_REGISTRY["stamp_time"] = Stamp
    await run(recipe({"type": "parallel", "substeps": [{"type": "stamp_time"}] * 3, "delay": 0.2}))
    assert len(starts) == 3
    assert starts[1] - starts[0] >= 0.18 and starts[2] - starts[1] >= 0.18


async def test_parallel_fail_fast_starts_nothing_after_a_failure(probe: Probe) -> None:
    subs = [p("s0", fail=True), p("s1"), p("s2")]
    with pytest.raises(RecipeExecutorError):
        await run(recipe({"type": "parallel", "substeps": subs, "max_concurrency": 1}))
    assert probe.started == ["s0"]


async def test_parallel_fail_fast_cancels_and_awaits_running_siblings(probe: Probe) -> None:
    subs = [p("blocker", fire=["b"], block=True), p("failer", wait=["b"], fail=True), p("late", wait=["never"])]
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": subs}))
    # by the time the error reaches us, the siblings were cancelled and finished their cleanup
    assert set(probe.cancelled) == {"blocker", "late"}
    assert set(probe.cleaned) == {"blocker", "failer", "late"}
    assert probe.running == 0
    err = info.value
    text = str(err)
    assert "substeps[1]" in text and "probe" in text
    assert "failer failed on purpose" in text


async def test_parallel_failure_names_the_sub_recipe_and_keeps_the_original(in_tmp: Path) -> None:
    write_json(in_tmp / "ok.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    write_json(in_tmp / "bad.json", recipe({"type": "read_files", "path": "missing.txt", "content_key": "c"}))
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": [
            {"type": "execute_recipe", "recipe_path": "ok.json"},
            {"type": "execute_recipe", "recipe_path": "bad.json"},
        ]}))
    text = str(info.value)
    assert "substeps[1] execute_recipe (bad.json)" in text
    assert "missing.txt" in text
    assert info.value.__cause__ is not None  # the original error is attached
    assert "missing.txt" in str(info.value.__cause__)


async def test_parallel_failure_attaches_the_original_exception(probe: Probe) -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": [p("ok"), p("bad", fail=True)]}))
    chain = []
    e: BaseException | None = info.value
    while e is not None and len(chain) < 20:
        chain.append(e)
        e = e.__cause__
    assert any(type(x) is RuntimeError and "bad failed on purpose" in str(x) for x in chain)


async def test_parallel_reports_every_failure_before_cancellation_took_effect(probe: Probe) -> None:
    subs = [p("f0", start_when=3, fail=True), p("f1", start_when=3, fail=True), p("f2", start_when=3, fail=True)]
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": subs}))
    text = str(info.value)
    failed = [name for name in ("f0", "f1", "f2") if f"probe {name} failed" in text]
    assert len(failed) >= 1
    # all three fail in the same scheduling round; all that failed are reported
    assert len(failed) == len([n for n in probe.cleaned if n not in probe.cancelled])


async def test_parallel_no_exception_never_retrieved(probe: Probe, caplog: pytest.LogCaptureFixture) -> None:
    subs = [p(f"f{i}", start_when=4, fail=True) for i in range(4)]
    with caplog.at_level(logging.DEBUG), pytest.raises(RecipeExecutorError):
        await run(recipe({"type": "parallel", "substeps": subs}))
    import gc

    gc.collect()
    await anyio.sleep(0.01)
    assert "never retrieved" not in caplog.text


async def test_parallel_fail_fast_false_runs_everything_and_lists_every_failure(probe: Probe) -> None:
    subs = [p("f0", fail=True), p("ok1"), p("f2", fail=True), p("ok3")]
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": subs, "fail_fast": False, "max_concurrency": 1}))
    assert probe.started == ["f0", "ok1", "f2", "ok3"]
    text = str(info.value)
    assert "f0 failed" in text and "f2 failed" in text
    assert "substeps[0]" in text and "substeps[2]" in text


async def test_parallel_timeout_cancels_and_says_how_many_finished(probe: Probe) -> None:
    subs = [p("quick"), p("slow1", block=True), p("slow2", block=True)]
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": subs, "timeout": 0.3}))
    text = str(info.value)
    assert "1 of 3" in text
    assert isinstance(info.value, TimeoutError) or "time" in text.lower()
    assert set(probe.cancelled) == {"slow1", "slow2"}
    assert probe.running == 0


async def test_parallel_timeout_covers_launch_waits(probe: Probe) -> None:
    started = time.monotonic()
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": [p("a"), p("b"), p("c")], "delay": 30, "timeout": 0.3}))
    assert time.monotonic() - started < 10
    assert "1 of 3" in str(info.value)
    assert probe.started == ["a"]


async def test_parallel_result_key_report(probe: Probe) -> None:
    subs = [p("ok0", write_key="out"), p("bad1", fail=True, write_key="out"), p("ok2", write_key="out")]
    ctx = await run(recipe({"type": "parallel", "substeps": subs, "fail_fast": False, "result_key": "report",
                            "output_keys": ["out", "absent"], "max_concurrency": 1}))
    report = ctx["report"]
    assert [e["index"] for e in report] == [0, 1, 2]
    assert [e["status"] for e in report] == ["succeeded", "failed", "succeeded"]
    for entry in report:
        assert set(entry) >= {"index", "status", "error", "started_at", "duration_s", "outputs"}
        assert entry["started_at"] is not None
        assert isinstance(entry["duration_s"], (int, float)) and entry["duration_s"] >= 0
    assert report[0]["error"] is None
    assert "bad1 failed on purpose" in report[1]["error"]
    assert report[0]["outputs"]["out"] == "ok0"
    assert report[1]["outputs"]["out"] == "bad1"  # the substep's context when it ended
    assert report[2]["outputs"]["out"] == "ok2"
    assert "out" not in ctx
    json.dumps(report)  # plain data


async def test_parallel_result_key_with_fail_fast_records_cancelled_and_not_started(probe: Probe) -> None:
    subs = [p("blocker", fire=["go"], block=True), p("bad", wait=["go"], fail=True), p("never")]
    ctx = Context()
    with pytest.raises(RecipeExecutorError):
        await run(recipe({"type": "parallel", "substeps": subs, "result_key": "report", "max_concurrency": 2}), ctx)
    statuses = [e["status"] for e in ctx["report"]]
    assert statuses == ["cancelled", "failed", "not_started"]
    assert ctx["report"][2]["started_at"] is None


async def test_parallel_result_key_all_succeed(probe: Probe) -> None:
    ctx = await run(recipe({"type": "parallel", "substeps": [p("a"), p("b")], "result_key": "r"}))
    assert [e["status"] for e in ctx["r"]] == ["succeeded", "succeeded"]


async def test_parallel_numeric_and_boolean_fields_accept_templates(probe: Probe) -> None:
    subs = [p(f"s{i}", fail=(i == 0)) for i in range(4)]
    ctx = await run(recipe({"type": "parallel", "substeps": subs, "max_concurrency": "{{ n }}", "delay": "{{ d }}",
                            "timeout": "{{ t }}", "fail_fast": "{{ ff }}", "result_key": "r"}),
                    Context(artifacts={"n": 1, "d": "0", "t": 30, "ff": False}))
    assert probe.peak == 1
    assert [e["status"] for e in ctx["r"]] == ["failed", "succeeded", "succeeded", "succeeded"]


async def test_parallel_template_rendering_to_wrong_type_is_a_clear_error(probe: Probe) -> None:
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": [p("a")], "max_concurrency": "{{ n }}"}),
                  Context(artifacts={"n": "lots"}))
    assert "max_concurrency" in str(info.value)


async def test_parallel_outside_cancellation_cancels_every_substep(probe: Probe) -> None:
    subs = [p(f"b{i}", fire=[f"started{i}"], block=True) for i in range(3)]
    async with anyio.create_task_group() as tg:
        tg.start_soon(run, recipe({"type": "parallel", "substeps": subs}))
        for i in range(3):
            await probe.event(f"started{i}").wait()
        tg.cancel_scope.cancel()
    assert sorted(probe.cancelled) == ["b0", "b1", "b2"]
    assert probe.running == 0


async def test_parallel_enclosing_timeout_cancels_substeps(probe: Probe) -> None:
    subs = [p("b0", block=True), p("b1", block=True)]
    with anyio.move_on_after(0.2):
        await Executor(LOG).execute(recipe({"type": "parallel", "substeps": subs}), Context())
    assert sorted(probe.cancelled) == ["b0", "b1"]


async def test_parallel_nested_in_parallel(tmp_path: Path) -> None:
    await run(recipe({"type": "parallel", "substeps": [
        {"type": "parallel", "substeps": [
            {"type": "write_files", "root": str(tmp_path), "files": [{"path": f"{i}.txt", "content": str(i)}]}
            for i in range(3)]},
        {"type": "write_files", "root": str(tmp_path), "files": [{"path": "x.txt", "content": "x"}]},
    ]}))
    assert sorted(f.name for f in tmp_path.iterdir()) == ["0.txt", "1.txt", "2.txt", "x.txt"]


async def test_parallel_empty_substeps_is_fine() -> None:
    ctx = await run(recipe({"type": "parallel", "substeps": [], "result_key": "r"}))
    assert ctx["r"] == []


# =============================================================================================
# 5. Context


class CountingCopy:
    copies = 0

    def __init__(self, payload: list[int]) -> None:
        self.payload = payload

    def __deepcopy__(self, memo: dict[int, Any]) -> CountingCopy:
        CountingCopy.copies += 1
        return CountingCopy(list(self.payload))


def test_context_clone_does_not_copy_values() -> None:
    CountingCopy.copies = 0
    ctx = Context()
    ctx["big"] = CountingCopy(list(range(10)))
    _ = ctx.clone()
    clones = [ctx.clone() for _ in range(100)]
    assert CountingCopy.copies <= 1
    assert len(clones) == 100


def test_context_clone_isolation_is_total() -> None:
    parent = Context(artifacts={"l": [1, [2]], "d": {"k": {"n": 1}}, "s": "x"})
    clone = parent.clone()
    clone["l"].append(3)
    clone["l"][1].append(99)
    clone["d"]["k"]["n"] = 2
    clone["s"] = "y"
    clone["new"] = 1
    assert parent["l"] == [1, [2]]
    assert parent["d"] == {"k": {"n": 1}}
    assert parent["s"] == "x" and "new" not in parent
    parent["d"]["k"]["n"] = 5
    parent.get("l").append(7)
    assert clone["d"]["k"]["n"] == 2
    assert clone["l"] == [1, [2, 99], 3]
    sibling = parent.clone()
    other = parent.clone()
    sibling["l"].clear()
    assert other["l"] == [1, [2], 7]
    del other["s"]
    assert sibling["s"] == "x" and parent["s"] == "x"


def test_context_clone_isolates_config() -> None:
    parent = Context(config={"servers": [{"a": 1}]})
    clone = parent.clone()
    clone.set_config({"servers": []})
    assert parent.get_config() == {"servers": [{"a": 1}]}


def test_context_mutation_of_a_value_held_before_clone_does_not_leak() -> None:
    held = [1]
    parent = Context()
    parent["l"] = held
    clone = parent.clone()
    held.append(2)
    assert clone["l"] == [1]


def test_context_constructor_does_not_alias_callers_objects() -> None:
    data = {"l": [1]}
    ctx = Context(artifacts=data)
    ctx["l"].append(2)
    assert data == {"l": [1]}


# =============================================================================================
# 6. Templates


async def test_template_filters_upstream_recipes_use() -> None:
    from datetime import datetime

    ctx = await run(recipe(
        {"type": "set_context", "key": "snake", "value": "{{ title | snakecase }}"},
        {"type": "set_context", "key": "js", "value": "{{ obj | json }}"},
        {"type": "set_context", "key": "dflt", "value": "{{ missing | default: 'fallback' }}"},
        {"type": "set_context", "key": "year", "value": "{{ 'now' | date: '%Y' }}"},
    ), Context(artifacts={"title": "Hello There MyDocument", "obj": {"a": [1, True, None]}}))
    assert ctx["snake"] == "hello_there_my_document"
    assert json.loads(ctx["js"]) == {"a": [1, True, None]}
    assert ctx["dflt"] == "fallback"
    assert ctx["year"] == str(datetime.now().year)


async def test_template_undefined_renders_empty_by_default() -> None:
    ctx = await run(recipe({"type": "set_context", "key": "v", "value": "[{{ nope }}][{{ a.b.c }}]"}))
    assert ctx["v"] == "[][]"


async def test_strict_templates_fail_naming_the_variable_and_the_step() -> None:
    from recipe_executor import RunOptions

    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "set_context", "key": "ok", "value": "x"},
                         {"type": "set_context", "key": "v", "value": "{{ nope_var }}"}),
                  executor=Executor(LOG, options=RunOptions(strict_templates=True)))
    text = str(info.value)
    assert "nope_var" in text
    assert "steps[1] set_context" in text


def test_cli_strict_templates(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recipe_executor.main import main

    write_json(in_tmp / "r.json", recipe({"type": "write_files", "root": "out",
                                          "files": [{"path": "f.txt", "content": "{{ undefined_thing }}"}]}))
    assert main(["r.json"]) == 0
    assert (in_tmp / "out" / "f.txt").read_text() == ""
    assert main(["r.json", "--strict-templates"]) == 1
    err = capsys.readouterr().err
    assert "undefined_thing" in err and "steps[0] write_files" in err


async def test_template_exact_expression_keeps_structure_where_structures_are_accepted(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe({"type": "set_context", "key": "got", "value": "{{ items }}"}))
    ctx = await run(recipe(
        {"type": "execute_recipe", "recipe_path": "sub.json", "context_overrides": {"items": "{{ src }}"}},
        {"type": "set_context", "key": "mixed", "value": "n={{ src.size }}"},
    ), Context(artifacts={"src": [{"a": 1}, {"a": 2}]}))
    assert ctx["got"] == [{"a": 1}, {"a": 2}]
    assert ctx["mixed"] == "n=2"


async def test_template_syntax_error_is_reported_before_running(tmp_path: Path) -> None:
    first = {"type": "write_files", "root": str(tmp_path), "files": [{"path": "ran.txt", "content": "x"}]}
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe(first, {"type": "set_context", "key": "a", "value": "{% if x %}unclosed"}))
    assert "steps[1] set_context" in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


# =============================================================================================
# 7. Validation and errors


async def test_validation_reports_every_problem_at_once_and_nothing_runs(in_tmp: Path) -> None:
    write_json(in_tmp / "sub.json", recipe({"type": "no_such_step"}))
    data = recipe(
        {"type": "write_files", "root": "out", "files": [{"path": "ran.txt", "content": "x"}]},
        {"type": "write_file", "root": "out", "files": []},
        {"type": "set_context", "key": "a"},
        {"type": "set_context", "key": "a", "value": "{{ broken"},
        {"type": "execute_recipe", "recipe_path": "sub.json"},
        {"type": "parallel", "substeps": [{"type": "read_file", "path": "x", "content_key": "y"}]},
    )
    with pytest.raises(RecipeExecutorError) as info:
        await run(data)
    text = str(info.value)
    assert "write_file" in text and "did you mean 'write_files'" in text
    assert "steps[2]" in text and "value" in text
    assert "steps[3]" in text
    assert "no_such_step" in text and "sub.json" in text
    assert "substeps[0]" in text and "did you mean 'read_files'" in text
    assert not (in_tmp / "out").exists()


async def test_invalid_step_in_a_static_sub_recipe_of_a_parallel_stops_everything(in_tmp: Path) -> None:
    write_json(in_tmp / "good.json", recipe({"type": "write_files", "root": "out",
                                             "files": [{"path": "good.txt", "content": "x"}]}))
    write_json(in_tmp / "bad.json", recipe({"type": "set_context", "value": "missing key"}))
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "parallel", "substeps": [
            {"type": "execute_recipe", "recipe_path": "good.json"},
            {"type": "execute_recipe", "recipe_path": "bad.json"}]}))
    assert "bad.json" in str(info.value) and "key" in str(info.value)
    assert not (in_tmp / "out").exists()


async def test_unknown_config_keys_warn_with_suggestion_by_default(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        ctx = await run(recipe({"type": "parallel", "substeps": [], "max_concurency": 2},
                               {"type": "set_context", "key": "a", "value": "b"}))
    assert ctx["a"] == "b"
    assert "max_concurency" in caplog.text and "did you mean 'max_concurrency'" in caplog.text


async def test_unknown_config_keys_are_errors_in_strict_mode(tmp_path: Path) -> None:
    from recipe_executor import RunOptions

    first = {"type": "write_files", "root": str(tmp_path), "files": [{"path": "ran.txt", "content": "x"}]}
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe(first, {"type": "parallel", "substeps": [], "max_concurency": 2}),
                  executor=Executor(LOG, options=RunOptions(strict=True)))
    assert "max_concurency" in str(info.value) and "max_concurrency" in str(info.value)
    assert not (tmp_path / "ran.txt").exists()


def test_cli_strict_flag_makes_unknown_keys_errors(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recipe_executor.main import main

    write_json(in_tmp / "r.json", recipe({"type": "read_files", "path": "x.txt", "content_key": "c",
                                          "optinal": True}))
    (in_tmp / "x.txt").write_text("x")
    assert main(["r.json"]) == 0
    assert "optinal" in capsys.readouterr().err
    assert main(["r.json", "--strict"]) == 1
    err = capsys.readouterr().err
    assert "optinal" in err and "optional" in err


def test_error_step_path_across_sub_recipes(in_tmp: Path) -> None:
    write_json(in_tmp / "recipes" / "subtask_a.json", recipe({"type": "set_context", "key": "a", "value": "1"}))
    write_json(in_tmp / "recipes" / "subtask_b.json", recipe(
        {"type": "set_context", "key": "a", "value": "1"},
        {"type": "set_context", "key": "b", "value": "2"},
        {"type": "write_files", "root": "out", "files": [{"path": "../../escape.txt", "content": "x"}]},
    ))
    write_json(in_tmp / "main.json", recipe({"type": "parallel", "substeps": [
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_a.json"},
        {"type": "execute_recipe", "recipe_path": "recipes/subtask_b.json"},
    ]}))
    res = cli(["main.json"], in_tmp)
    assert res.returncode == 1
    expected = ("main.json › steps[0] parallel › substeps[1] execute_recipe (recipes/subtask_b.json) "
                "› steps[2] write_files")
    assert expected in res.stderr
    assert "../../escape.txt" in res.stderr
    assert "Traceback" not in res.stderr
    # one error line (console log lines above it are INFO records of the run)
    errors = [line for line in res.stderr.splitlines() if line.startswith("recipe-executor:")]
    assert len(errors) == 1 and expected in errors[0]


async def test_errors_are_one_typed_tree() -> None:
    from recipe_executor.errors import RecipeExecutorError, StepError

    with pytest.raises(RecipeExecutorError):
        await run(recipe({"type": "nope"}))
    with pytest.raises(StepError):
        await run(recipe({"type": "read_files", "path": "/definitely/missing/file.txt", "content_key": "x"}))


async def test_custom_step_exception_gets_the_step_path(registry: dict[str, type]) -> None:
    class Boom(BaseStep[StepConfig]):
        async def execute(self, context: ContextProtocol) -> None:
            raise KeyError("thing")

    registry["boom"] = Boom
    with pytest.raises(RecipeExecutorError) as info:
        await run(recipe({"type": "set_context", "key": "a", "value": "b"}, {"type": "boom"}))
    assert "steps[1] boom" in str(info.value)
    assert "thing" in str(info.value)


# =============================================================================================
# 7. CLI


@pytest.fixture
def echo_recipe(in_tmp: Path) -> Path:
    return write_json(in_tmp / "r.json", recipe({"type": "write_files", "root": "out",
                                                 "files": [{"path": "o.txt", "content": "{{ a }}|{{ b }}|{{ c }}"}]}))


def test_cli_context_pairs_repeated_and_grouped(echo_recipe: Path) -> None:
    res = cli(["r.json", "--context", "a=1", "b=two words", "--context", "c=x=y"], echo_recipe.parent)
    assert res.returncode == 0, res.stderr
    assert (echo_recipe.parent / "out" / "o.txt").read_text() == "1|two words|x=y"


def test_cli_run_subcommand(echo_recipe: Path) -> None:
    res = cli(["run", "r.json", "--context", "a=A", "b=B", "c=C"], echo_recipe.parent)
    assert res.returncode == 0, res.stderr
    assert (echo_recipe.parent / "out" / "o.txt").read_text() == "A|B|C"


def test_cli_log_dir_and_log_files(echo_recipe: Path) -> None:
    res = cli(["r.json", "--log-dir", "mylogs", "--log-level", "DEBUG", "--context", "a=1"], echo_recipe.parent)
    assert res.returncode == 0, res.stderr
    for name in ("debug.log", "info.log", "error.log"):
        assert (echo_recipe.parent / "mylogs" / name).exists()
    assert (echo_recipe.parent / "mylogs" / "info.log").read_text().strip()


def test_cli_default_log_dir_is_logs(echo_recipe: Path) -> None:
    res = cli(["r.json"], echo_recipe.parent)
    assert res.returncode == 0, res.stderr
    assert (echo_recipe.parent / "logs" / "info.log").exists()


def test_cli_failure_logged_to_error_log(in_tmp: Path) -> None:
    write_json(in_tmp / "r.json", recipe({"type": "read_files", "path": "missing.txt", "content_key": "c"}))
    res = cli(["r.json", "--log-dir", "lg"], in_tmp)
    assert res.returncode == 1
    assert "missing.txt" in (in_tmp / "lg" / "error.log").read_text()


def test_cli_validate_subcommand(in_tmp: Path) -> None:
    write_json(in_tmp / "good.json", recipe({"type": "write_files", "root": "out",
                                             "files": [{"path": "o.txt", "content": "x"}]}))
    res = cli(["validate", "good.json"], in_tmp)
    assert res.returncode == 0, res.stderr
    assert not (in_tmp / "out").exists()
    write_json(in_tmp / "bad.json", recipe({"type": "write_filez", "files": []}, {"type": "set_context"}))
    res = cli(["validate", "bad.json"], in_tmp)
    assert res.returncode == 1
    assert "write_filez" in res.stderr and "steps[1]" in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_exit_codes(in_tmp: Path) -> None:
    write_json(in_tmp / "ok.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    write_json(in_tmp / "fail.json", recipe({"type": "read_files", "path": "nope.txt", "content_key": "c"}))
    (in_tmp / "broken.json").write_text("{ not json")
    assert cli(["ok.json"], in_tmp).returncode == 0
    fail = cli(["fail.json"], in_tmp)
    assert fail.returncode == 1
    assert "Traceback" not in fail.stderr and "nope.txt" in fail.stderr
    debug = cli(["fail.json", "--debug"], in_tmp)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    broken = cli(["broken.json"], in_tmp)
    assert broken.returncode == 1 and "broken.json" in broken.stderr and "Traceback" not in broken.stderr
    missing = cli(["nowhere.json"], in_tmp)
    assert missing.returncode == 1 and "nowhere.json" in missing.stderr and "Traceback" not in missing.stderr
    assert cli([], in_tmp).returncode == 2
    assert cli(["ok.json", "--context", "novalue"], in_tmp).returncode == 2
    assert cli(["ok.json", "--no-such-flag"], in_tmp).returncode == 2
    assert cli(["ok.json", "--log-level", "LOUD"], in_tmp).returncode == 2


def test_cli_main_in_process_returns_codes(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from recipe_executor.main import main

    write_json(in_tmp / "ok.json", recipe({"type": "set_context", "key": "a", "value": "b"}))
    assert main(["ok.json"]) == 0
    assert main(["missing.json"]) == 1
    assert main([]) == 2
    assert "Traceback" not in capsys.readouterr().err


HANG_PLUGIN = '''
import anyio
from pathlib import Path
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.registry import STEP_REGISTRY


class HangStep(BaseStep[StepConfig]):
    async def execute(self, context):
        Path("started.flag").write_text("1")
        try:
            await anyio.sleep_forever()
        finally:
            Path("cleaned.flag").write_text("1")

STEP_REGISTRY["hang"] = HangStep
'''


def test_cli_ctrl_c_exits_130_and_cancels_substeps(in_tmp: Path) -> None:
    (in_tmp / "hangplug.py").write_text(HANG_PLUGIN)
    write_json(in_tmp / "r.json", recipe({"type": "parallel", "substeps": [{"type": "hang"}, {"type": "hang"}]}))
    env = {**os.environ, "PYTHONPATH": str(in_tmp)}
    proc = subprocess.Popen([str(SCRIPT), "r.json", "--plugin", "hangplug"], cwd=in_tmp, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while not (in_tmp / "started.flag").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline
            time.sleep(0.05)
        time.sleep(0.1)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert (in_tmp / "cleaned.flag").exists()


CFG_PLUGIN = '''
import json
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.registry import STEP_REGISTRY


class DumpConfig(BaseStep[StepConfig]):
    async def execute(self, context):
        with open("config.json", "w") as handle:
            json.dump(context.get_config(), handle)
        self.logger.info("config keys: %s", sorted(context.get_config()))
        self.logger.debug("whole config: %r", context.get_config())

STEP_REGISTRY["dump_config"] = DumpConfig
'''


def test_cli_config_pairs_env_vars_and_dotenv(in_tmp: Path) -> None:
    (in_tmp / "cfgplug.py").write_text(CFG_PLUGIN)
    (in_tmp / ".env").write_text("ACC_FROM_DOTENV=dotenv-value\n")
    write_json(in_tmp / "r.json", recipe({"type": "dump_config"}, env_vars=["ACC_FROM_DOTENV", "ACC_FROM_ENV"]))
    res = cli(["r.json", "--plugin", "cfgplug", "--config", "model=openai/gpt-4o", "temperature=0.2",
               "--config", "other=x"], in_tmp, {"PYTHONPATH": str(in_tmp), "ACC_FROM_ENV": "env-value"})
    assert res.returncode == 0, res.stderr
    cfg = json.loads((in_tmp / "config.json").read_text())
    assert cfg["model"] == "openai/gpt-4o"
    assert str(cfg["temperature"]) == "0.2"
    assert cfg["other"] == "x"
    assert cfg["acc_from_dotenv"] == "dotenv-value"
    assert cfg["acc_from_env"] == "env-value"


def test_cli_config_secrets_never_reach_the_logs(in_tmp: Path) -> None:
    (in_tmp / "cfgplug.py").write_text(CFG_PLUGIN)
    write_json(in_tmp / "r.json", recipe({"type": "dump_config"},
                                         {"type": "read_files", "path": "missing-{{ x }}.txt", "content_key": "c"}))
    secret = "sk-acceptance-SECRET-1234567890"
    res = cli(["r.json", "--plugin", "cfgplug", "--config", f"openai_api_key={secret}", "--config",
               "my_token=tok-SECRET-abcdef", "--log-dir", "lg", "--log-level", "DEBUG", "--debug"],
              in_tmp, {"PYTHONPATH": str(in_tmp)})
    assert res.returncode == 1
    logs = "".join(f.read_text() for f in (in_tmp / "lg").iterdir())
    assert "config keys" in logs
    for text in (logs, res.stderr, res.stdout):
        assert secret not in text
        assert "tok-SECRET-abcdef" not in text


def test_cli_help_and_version(in_tmp: Path) -> None:
    res = cli(["--help"], in_tmp)
    assert res.returncode == 0
    for flag in ("--context", "--config", "--log-dir", "--log-level"):
        assert flag in res.stdout


# =============================================================================================
# 8. Project


def test_readme_example_runs_offline_and_outputs_where_it_says(tmp_path: Path) -> None:
    out = tmp_path / "parallel-out"
    res = subprocess.run(
        [str(SCRIPT), "examples/parallel/main.json", "--context", "shared_input=hello parallel world",
         f"output_root={out}", "--log-dir", str(tmp_path / "logs")],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )
    assert res.returncode == 0, res.stderr
    assert sorted(f.name for f in out.iterdir()) == ["subtask_a.txt", "subtask_b.txt"]
    assert "HELLO PARALLEL WORLD" in (out / "subtask_a.txt").read_text()


def test_project_files_exist() -> None:
    readme = (REPO / "README.md").read_text()
    assert "make example" in readme and "make test" in readme
    ci = (REPO / ".ci" / "run").read_text()
    assert "make test" in ci
    assert os.access(REPO / ".ci" / "run", os.X_OK)
    makefile = (REPO / "Makefile").read_text()
    assert ".venv" in makefile and "ruff" in makefile and "mypy" in makefile
    assert (REPO / "docs" / "compat.md").read_text().strip()
    assert (REPO / "bench").is_dir()
    assert any((REPO / "bench").glob("*.md")) or (REPO / "docs").glob("bench*")


def test_invalid_sub_recipe_found_at_run_time_keeps_the_step_path(in_tmp: Path) -> None:
    write_json(in_tmp / "dyn.json", recipe({"type": "set_context", "key": "a", "value": "b"},
                                           {"type": "write_filez", "files": []}))
    write_json(in_tmp / "m.json", recipe({"type": "parallel", "substeps": [
        {"type": "execute_recipe", "recipe_path": "{{ n }}.json"}]}))
    res = cli(["m.json", "--context", "n=dyn"], in_tmp)
    assert res.returncode == 1
    assert ("m.json › steps[0] parallel › substeps[0] execute_recipe (dyn.json) › steps[1] write_filez: "
            "unknown step type 'write_filez'; did you mean 'write_files'?") in res.stderr


async def test_custom_step_using_upstreams_template_helper_runs_unchanged(registry: dict[str, type]) -> None:
    from recipe_executor.steps.registry import STEP_REGISTRY
    from recipe_executor.utils.templates import render_template

    class EchoConfig(StepConfig):
        message: str

    class EchoStep(BaseStep[EchoConfig]):
        def __init__(self, logger: logging.Logger, config: dict[str, Any]) -> None:
            super().__init__(logger, EchoConfig(**config))

        async def execute(self, context: ContextProtocol) -> None:
            context["echo"] = render_template(self.config.message, context)

    STEP_REGISTRY["echo"] = EchoStep
    ctx = await run(recipe({"type": "echo", "config": {"message": "Hello {{ who }}"}}),
                    Context(artifacts={"who": "Ada"}))
    assert ctx["echo"] == "Hello Ada"
