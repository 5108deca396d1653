"""Token and request totals per model, summed over one run (``current_run().service("llm.usage")``).

``main.py`` prints :meth:`UsageTotals.summary` at the end of a run; Python callers read
``executor.last_run.peek_service("llm.usage")``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["USAGE_SERVICE", "ModelUsage", "UsageTotals"]

USAGE_SERVICE = "llm.usage"


@dataclass(slots=True)
class ModelUsage:
    """Totals for one model id. ``calls`` counts ``llm_generate`` calls, ``requests`` HTTP requests
    as the model reported them (tool calls and output retries make one call several requests);
    ``retries`` counts transient failures that were retried."""

    calls: int = 0
    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0


@dataclass
class UsageTotals:
    """Per-model totals of one run; updated by each finished ``llm_generate`` call."""

    models: dict[str, ModelUsage] = field(default_factory=dict)

    def add(self, model: str, *, requests: int, input_tokens: int, output_tokens: int) -> None:
        """Add one finished call's usage under ``model``."""
        entry = self.models.setdefault(model, ModelUsage())
        entry.calls += 1
        entry.requests += requests
        entry.input_tokens += input_tokens
        entry.output_tokens += output_tokens

    def add_retry(self, model: str) -> None:
        """Count one retried transient failure under ``model``."""
        self.models.setdefault(model, ModelUsage()).retries += 1

    @property
    def input_tokens(self) -> int:
        return sum(m.input_tokens for m in self.models.values())

    @property
    def output_tokens(self) -> int:
        return sum(m.output_tokens for m in self.models.values())

    @property
    def requests(self) -> int:
        return sum(m.requests for m in self.models.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        """Plain data: ``{model: {calls, requests, input_tokens, output_tokens, retries}}``."""
        return {
            name: {
                "calls": m.calls,
                "requests": m.requests,
                "input_tokens": m.input_tokens,
                "output_tokens": m.output_tokens,
                "retries": m.retries,
            }
            for name, m in sorted(self.models.items())
        }

    def summary(self) -> str | None:
        """One line per model plus a total, or ``None`` if no LLM call finished."""
        if not self.models:
            return None
        lines = ["LLM usage:"]
        for name, m in sorted(self.models.items()):
            retries = f", {m.retries} retried" if m.retries else ""
            lines.append(
                f"  {name}: {m.calls} calls, {m.requests} requests, "
                f"{m.input_tokens} input + {m.output_tokens} output tokens{retries}"
            )
        if len(self.models) > 1:
            lines.append(
                f"  total: {self.requests} requests, {self.input_tokens} input + {self.output_tokens} output tokens"
            )
        return "\n".join(lines)
