"""Values that arrive as text: JSON for an object or array becomes that structure."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["parse_json_structure"]


def parse_json_structure(text: str) -> Any:
    """``text`` as a dict or list if it is JSON for one (``true``/``false``/``null`` work,
    unlike upstream's Python-literal parsing), else ``text`` unchanged."""
    stripped = text.strip()
    if (stripped[:1], stripped[-1:]) in (("{", "}"), ("[", "]")):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            return text
        if isinstance(parsed, (dict, list)):
            return parsed
    return text
