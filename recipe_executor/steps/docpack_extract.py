"""``docpack_extract``: unpack a ``.docpack`` archive and load its outline into the context.

All four fields are rendered. ``outline.json`` lands in ``extract_dir`` and the resources in
``extract_dir/files/``; the outline's resource paths point at the extracted files (absolute), in
the context and in the ``outline.json`` on disk. Unsafe member names (absolute, ``..``) refuse
the whole archive before anything is written. ``output_key``, which upstream recipes pass but
upstream never had, is accepted with a warning and ignored.
"""

from __future__ import annotations

from pathlib import Path

import anyio.to_thread

from ..docpack import extract_docpack
from ..errors import StepError
from ..protocols import ContextProtocol
from ..templates import render_template
from .base import BaseStep, StepConfig
from .registry import register_step

__all__ = ["DocpackExtractConfig", "DocpackExtractStep"]


class DocpackExtractConfig(StepConfig):
    """Config for DocpackExtractStep.

    Fields:
        docpack_path: the ``.docpack`` file (a template).
        extract_dir: the folder to extract into; created if missing (a template).
        outline_key: where the outline goes (default ``outline_data``).
        resources_key: where the list of extracted resource paths goes (default ``resource_files``).
        output_key: ignored, with a warning (upstream recipes pass it; upstream ignored it too).
    """

    docpack_path: str
    extract_dir: str
    outline_key: str = "outline_data"
    resources_key: str = "resource_files"
    output_key: str | None = None


@register_step("docpack_extract")
class DocpackExtractStep(BaseStep[DocpackExtractConfig]):
    """Extracts a ``.docpack`` archive; see the module docstring."""


    async def execute(self, context: ContextProtocol) -> None:
        cfg = self.config
        if cfg.output_key is not None:
            self.logger.warning(
                "docpack_extract ignores output_key %r (as upstream did): the outline goes to outline_key "
                "and the resource paths to resources_key",
                cfg.output_key,
            )
        docpack_path = render_template(cfg.docpack_path, context).strip()
        extract_dir = render_template(cfg.extract_dir, context).strip()
        if not docpack_path or not extract_dir:
            raise StepError(
                f"docpack_path {cfg.docpack_path!r} and extract_dir {cfg.extract_dir!r} must not render empty"
            )
        result = await anyio.to_thread.run_sync(extract_docpack, Path(docpack_path), Path(extract_dir))
        for path in result.unmatched:
            self.logger.warning("The docpack's outline refers to %r, which is not in the archive", path)
        context[render_template(cfg.outline_key, context)] = result.outline
        context[render_template(cfg.resources_key, context)] = result.resource_files
        self.logger.info(
            "Extracted %s to %s (%d resource file(s))", docpack_path, extract_dir, len(result.resource_files)
        )
