"""Built-in steps. Importing this package registers them in ``STEP_REGISTRY``.

Steps that need heavy optional SDKs (LLM providers, MCP) import them lazily, inside ``execute``.
"""

from __future__ import annotations

from . import (  # noqa: F401  (imported for registration)
    conditional,
    docpack_create,
    docpack_extract,
    execute_recipe,
    llm_generate,
    loop,
    mcp,
    parallel,
    read_files,
    set_context,
    write_files,
)
from .registry import STEP_REGISTRY, register_step

__all__ = ["STEP_REGISTRY", "register_step"]
