"""LLM generation and MCP tools: the only package that imports provider SDKs, pydantic-ai or mcp.

Nothing here is imported by ``import recipe_executor``; the ``llm_generate`` and ``mcp`` steps
import it inside ``execute``. Modules:

- :mod:`.model_ids`  parse ``provider/model[/deployment]`` and check it statically (no SDK import);
- :mod:`.schema`     ``output_format`` → JSON schema for structured output (no SDK import);
- :mod:`.usage`      token and request totals per model over a run (no SDK import);
- :mod:`.limits`     run-wide concurrency, requests-per-minute and tokens-per-minute limits;
- :mod:`.retry`      backoff with jitter, ``Retry-After``, which failures are transient;
- :mod:`.transport`  the HTTP transport every provider client sends through (limits + retries);
- :mod:`.providers`  pydantic-ai models for each provider, clients shared per run;
- :mod:`.test_provider` the offline ``test/<name>`` model;
- :mod:`.mcp_servers` MCP server connections owned by the run, shared by steps;
- :mod:`.generate`   one ``llm_generate`` call end to end.
"""

from __future__ import annotations

INSTALL_HINT = "install the LLM extras: pip install 'recipe-executor[llm]'"
