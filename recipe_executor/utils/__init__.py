"""Upstream's ``recipe_executor.utils`` package path, kept so custom steps written for upstream
(``from recipe_executor.utils.templates import render_template``) import unchanged."""
