"""Upstream's ``recipe_executor.utils.templates`` module path, for custom steps written for upstream.

``render_template(text, context)`` renders ``text`` as a Liquid template against the context's
artifacts and returns a string, as upstream's did; it is the engine's own renderer (parsed once,
cached; the same filters), and its errors are ``ValueError`` subclasses as upstream's were.
"""

from __future__ import annotations

from ..templates import render_template

__all__ = ["render_template"]
