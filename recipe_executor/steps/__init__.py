"""Built-in steps. Importing this package registers them in ``STEP_REGISTRY``.

Each built-in step's module is imported the first time its name is looked up, so start-up
does not pay for steps a recipe does not use. Steps that need heavy optional SDKs (LLM
providers, MCP) also import those lazily, inside ``execute``.
"""

from __future__ import annotations

from .registry import STEP_REGISTRY, register_step

__all__ = ["BUILTIN_STEPS", "STEP_REGISTRY", "register_step"]

BUILTIN_STEPS = (
    "conditional",
    "docpack_create",
    "docpack_extract",
    "execute_recipe",
    "llm_generate",
    "loop",
    "mcp",
    "parallel",
    "read_files",
    "set_context",
    "write_files",
)
"""The step types this package provides; each lives in the module of the same name."""

for _name in BUILTIN_STEPS:
    STEP_REGISTRY.add_lazy(_name, f"{__name__}.{_name}")
del _name
