"""The step registry: plain-dict compatibility, checked registration, plugins by module and by
entry point (a real dist-info on sys.path), and duplicate names refused with both classes named."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from recipe_executor.errors import PluginError
from recipe_executor.steps.base import BaseStep, StepConfig
from recipe_executor.steps.parallel import ParallelStep
from recipe_executor.steps.registry import (
    STEP_REGISTRY,
    load_entry_point_steps,
    load_plugin,
    register_step,
    suggest_step_type,
)

STEP_SOURCE = """
from recipe_executor.steps.base import BaseStep, StepConfig

class {name}Config(StepConfig):
    pass

class {name}Step(BaseStep[{name}Config]):
    async def execute(self, context):
        context["{name}"] = True
"""


class OneConfig(StepConfig):
    pass


class One(BaseStep[OneConfig]):
    pass


class Two(BaseStep[OneConfig]):
    pass


@pytest.fixture
def plugin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on sys.path for plugin modules and dist-infos; their modules are forgotten after."""
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield tmp_path
    for name in set(sys.modules) - before:
        del sys.modules[name]
    importlib.invalidate_caches()


def test_registry_is_a_plain_dict_as_upstream() -> None:
    STEP_REGISTRY["parallel"] = ParallelStep
    STEP_REGISTRY["one"] = One
    assert STEP_REGISTRY["one"] is One
    for name in ("execute_recipe", "parallel", "read_files", "set_context", "write_files"):
        assert name in STEP_REGISTRY


def test_register_step_as_decorator_and_twice_for_the_same_class() -> None:
    assert register_step("one")(One) is One
    register_step("one", One)
    assert STEP_REGISTRY["one"] is One


def test_register_step_refuses_a_taken_name_naming_both_classes() -> None:
    register_step("one", One)
    with pytest.raises(PluginError) as caught:
        register_step("one", Two)
    message = str(caught.value)
    assert "test_registry.One" in message and "test_registry.Two" in message
    assert STEP_REGISTRY["one"] is One


def test_suggest_step_type_offers_the_closest_name() -> None:
    assert suggest_step_type("paralel") == "; did you mean 'parallel'?"
    assert suggest_step_type("zzzzzz") == ""


def test_load_plugin_registers_new_steps(plugin_dir: Path) -> None:
    (plugin_dir / "my_plugin.py").write_text(
        STEP_SOURCE.format(name="Echo") + '\nfrom recipe_executor.steps.registry import STEP_REGISTRY\n'
        'STEP_REGISTRY["echo"] = EchoStep\n'
    )
    load_plugin("my_plugin")
    assert STEP_REGISTRY["echo"].__name__ == "EchoStep"


def test_load_plugin_refuses_overwriting_a_registered_step_and_restores_it(plugin_dir: Path) -> None:
    (plugin_dir / "evil_plugin.py").write_text(
        STEP_SOURCE.format(name="Fake") + '\nfrom recipe_executor.steps.registry import STEP_REGISTRY\n'
        'STEP_REGISTRY["parallel"] = FakeStep\n'
    )
    with pytest.raises(PluginError) as caught:
        load_plugin("evil_plugin")
    message = str(caught.value)
    assert "plugin module 'evil_plugin'" in message
    assert "evil_plugin.FakeStep" in message and "recipe_executor.steps.parallel.ParallelStep" in message
    assert STEP_REGISTRY["parallel"] is ParallelStep


def test_load_plugin_that_fails_to_import_says_so(plugin_dir: Path) -> None:
    (plugin_dir / "broken_plugin.py").write_text("raise RuntimeError('needs a setting')\n")
    with pytest.raises(PluginError, match="plugin module 'broken_plugin' could not be imported: needs a setting"):
        load_plugin("broken_plugin")
    with pytest.raises(PluginError, match="could not be imported"):
        load_plugin("no_such_plugin_module")


def write_distribution(root: Path, name: str, entry_points: dict[str, str]) -> None:
    """A minimal installed distribution: METADATA plus entry_points.txt in a dist-info folder."""
    info = root / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    lines = "\n".join(f"{key} = {value}" for key, value in entry_points.items())
    (info / "entry_points.txt").write_text(f"[recipe_executor.steps]\n{lines}\n")


def test_entry_point_steps_are_registered_under_their_entry_point_name(plugin_dir: Path) -> None:
    (plugin_dir / "shout_steps.py").write_text(STEP_SOURCE.format(name="Shout"))
    (plugin_dir / "auto_steps.py").write_text(
        STEP_SOURCE.format(name="Auto") + '\nfrom recipe_executor.steps.registry import register_step\n'
        'register_step("auto", AutoStep)\n'
    )
    write_distribution(plugin_dir, "shout_pkg", {"shout": "shout_steps:ShoutStep", "auto_module": "auto_steps"})
    load_entry_point_steps(reload=True)
    assert STEP_REGISTRY["shout"].__name__ == "ShoutStep"
    assert STEP_REGISTRY["auto"].__name__ == "AutoStep"
    assert "auto_module" not in STEP_REGISTRY


def test_entry_point_taking_a_built_in_name_is_an_error_naming_both(plugin_dir: Path) -> None:
    (plugin_dir / "clash_steps.py").write_text(STEP_SOURCE.format(name="Clash"))
    write_distribution(plugin_dir, "clash_pkg", {"read_files": "clash_steps:ClashStep"})
    with pytest.raises(PluginError) as caught:
        load_entry_point_steps(reload=True)
    message = str(caught.value)
    assert "clash_steps.ClashStep" in message and "recipe_executor.steps.read_files.ReadFilesStep" in message


def test_entry_point_that_fails_to_import_names_the_entry_point(plugin_dir: Path) -> None:
    write_distribution(plugin_dir, "gone_pkg", {"gone": "gone_module_that_does_not_exist:Step"})
    with pytest.raises(PluginError, match=r"step plugin entry point 'gone' \(gone_module_that_does_not_exist:Step\)"):
        load_entry_point_steps(reload=True)


def test_entry_points_load_once_per_process_unless_reloaded(plugin_dir: Path) -> None:
    load_entry_point_steps(reload=True)
    (plugin_dir / "late_steps.py").write_text(STEP_SOURCE.format(name="Late"))
    write_distribution(plugin_dir, "late_pkg", {"late": "late_steps:LateStep"})
    load_entry_point_steps()
    assert "late" not in STEP_REGISTRY
    load_entry_point_steps(reload=True)
    assert "late" in STEP_REGISTRY


def test_builtin_steps_are_known_before_their_modules_are_imported() -> None:
    """Built-in names are listed without importing; a lookup imports just that step's module."""
    import subprocess

    code = (
        "import sys, recipe_executor\n"
        "from recipe_executor.steps.registry import STEP_REGISTRY\n"
        "assert 'loop' in STEP_REGISTRY and 'recipe_executor.steps.loop' not in sys.modules\n"
        "cls = STEP_REGISTRY['loop']\n"
        "assert cls.__name__ == 'LoopStep' and 'recipe_executor.steps.loop' in sys.modules\n"
        "assert 'recipe_executor.steps.mcp' not in sys.modules\n"
        "print(sorted(STEP_REGISTRY))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == str(sorted(
        ["conditional", "docpack_create", "docpack_extract", "execute_recipe", "llm_generate", "loop",
         "mcp", "parallel", "read_files", "set_context", "write_files"]
    ))


def test_registry_listing_and_copying_give_classes_for_every_builtin() -> None:
    copied = dict(STEP_REGISTRY)
    assert set(copied) >= {"parallel", "loop", "conditional", "llm_generate"}
    assert all(isinstance(cls, type) for cls in copied.values())
    assert copied["parallel"] is ParallelStep
    assert len(STEP_REGISTRY) == len(copied)


def test_assigning_over_a_lazy_builtin_replaces_it() -> None:
    class Other(BaseStep[StepConfig]):
        async def execute(self, context: object) -> None:
            return None

    STEP_REGISTRY["docpack_extract"] = Other
    assert STEP_REGISTRY["docpack_extract"] is Other
    del STEP_REGISTRY["docpack_extract"]
    assert "docpack_extract" not in STEP_REGISTRY
