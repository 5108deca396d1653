"""The benchmark workloads: recipes (nested ``{"type", "config"}`` shape, so upstream runs them
unchanged) and the data files they read, generated into a working folder.

Each :class:`Workload` names its recipe file and the ``--context`` pairs both engines get. Sizes
come from a :class:`Sizes` so the smoke test can run the same shapes at tiny sizes.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FULL", "TINY", "Sizes", "Workload", "build_workloads"]

Step = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """How big each workload is. ``FULL`` is what the issue specifies; ``TINY`` is for smoke runs."""

    sequential: tuple[int, ...] = (1_000, 5_000, 20_000)
    parallel_recipes: int = 1_000
    loop_items: int = 10_000
    loop_big_items: int = 100_000
    doc_bytes: int = 5_000_000
    doc_steps: int = 100
    big_string_bytes: int = 1_000_000
    big_string_renders: int = 1_000


FULL = Sizes()
TINY = Sizes(
    sequential=(20, 40),
    parallel_recipes=10,
    loop_items=20,
    loop_big_items=50,
    doc_bytes=20_000,
    doc_steps=5,
    big_string_bytes=10_000,
    big_string_renders=10,
)


@dataclass(frozen=True)
class Workload:
    """One benchmark case: a recipe file in the work folder and what to pass on the command line.

    ``needs`` lists step types our engine must have for the case to run (``loop`` arrives with
    the control-flow issue). ``upstream_runs`` caps how many times upstream runs it (``None``:
    as many as ours); ``group`` ties cases whose growth is checked together.
    """

    name: str
    title: str
    recipe: str
    context: tuple[str, ...] = ("seed=hello",)
    needs: frozenset[str] = frozenset()
    upstream_runs: int | None = None
    group: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


def _set(key: str, value: Any) -> Step:
    return {"type": "set_context", "config": {"key": key, "value": value}}


def _recipe(steps: list[Step]) -> dict[str, Any]:
    return {"steps": steps}


def _write(folder: Path, name: str, data: Any) -> str:
    (folder / name).write_text(json.dumps(data, indent=None), encoding="utf-8")
    return name


def _document(target_bytes: int) -> dict[str, Any]:
    """A JSON document of about ``target_bytes``: nested records, as real data looks."""
    rng = random.Random(7)
    records: list[dict[str, Any]] = []
    size = 0
    i = 0
    while size < target_bytes:
        record = {
            "id": i,
            "name": f"record-{i}",
            "score": round(rng.random() * 100, 3),
            "tags": [f"t{rng.randrange(50)}" for _ in range(4)],
            "attrs": {"active": i % 3 == 0, "group": f"g{i % 17}", "note": "lorem ipsum dolor sit amet " * 2},
        }
        records.append(record)
        size += len(json.dumps(record)) + 2
        i += 1
    return {"meta": {"name": "bench-document", "count": len(records)}, "records": records}


def _big_text(target_bytes: int) -> str:
    line = "The quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs.\n"
    return (line * (target_bytes // len(line) + 1))[:target_bytes]


def build_workloads(folder: Path, sizes: Sizes = FULL) -> list[Workload]:
    """Write every recipe and data file into ``folder`` and return the workloads in run order."""
    folder.mkdir(parents=True, exist_ok=True)
    cases: list[Workload] = []
    add = cases.append

    # 1. cold start: one set_context step.
    add(Workload("cold_start", "1 · cold start (one set_context)",
                 _write(folder, "cold_start.json", _recipe([_set("greeting", "{{ seed }} world")]))))

    # 2. N sequential set_context steps with distinct keys.
    for n in sizes.sequential:
        steps = [_set(f"key_{i}", f"value {i} from {{{{ seed }}}}") for i in range(n)]
        add(Workload(f"sequential_{n}", f"2 · {n:,} sequential set_context",
                     _write(folder, f"sequential_{n}.json", _recipe(steps)), group="sequential", meta={"n": n}))

    # 3. parallel of execute_recipe substeps running a one-step sub-recipe.
    _write(folder, "one_step_sub.json", _recipe([_set("sub_result", "{{ seed }} from a sub-recipe")]))
    for limit in (0, 8):
        substeps = [{"type": "execute_recipe", "config": {"recipe_path": "one_step_sub.json"}}
                    for _ in range(sizes.parallel_recipes)]
        parallel = {"type": "parallel", "config": {"substeps": substeps, "max_concurrency": limit}}
        add(Workload(f"parallel_recipes_c{limit}",
                     f"3 · parallel of {sizes.parallel_recipes:,} execute_recipe, max_concurrency {limit}",
                     _write(folder, f"parallel_recipes_c{limit}.json", _recipe([parallel]))))

    # 4. loop over N items (a literal list, so the loop's own cost is measured, not item copies).
    def loop_case(n: int, limit: int, upstream_runs: int | None) -> Workload:
        loop = {"type": "loop", "config": {
            "items": list(range(n)), "item_key": "item", "result_key": "results", "max_concurrency": limit,
            "substeps": [_set("item", "{{ seed }}-{{ item }}")],
        }}
        return Workload(f"loop_{n}_c{limit}", f"4 · loop over {n:,} items, max_concurrency {limit}",
                        _write(folder, f"loop_{n}_c{limit}.json", _recipe([loop])),
                        needs=frozenset({"loop"}), upstream_runs=upstream_runs)

    add(loop_case(sizes.loop_items, 1, None))
    add(loop_case(sizes.loop_items, 16, None))
    add(loop_case(sizes.loop_big_items, 16, None))

    # 5. a parsed multi-MB JSON document in the context, then many steps reading it.
    _write(folder, "document.json", _document(sizes.doc_bytes))
    read_doc = {"type": "read_files", "config": {"path": "document.json", "content_key": "doc"}}
    doc_steps = [_set(f"out_{i}", f"{{{{ doc.meta.name }}}} #{i} of {{{{ doc.meta.count }}}}")
                 for i in range(sizes.doc_steps)]
    add(Workload(f"document_sequential_{sizes.doc_steps}",
                 f"5 · {sizes.doc_bytes / 1e6:g} MB JSON in context, {sizes.doc_steps} sequential steps",
                 _write(folder, "document_sequential.json", _recipe([read_doc, *doc_steps]))))
    par = {"type": "parallel", "config": {"substeps": doc_steps, "max_concurrency": 0}}
    add(Workload(f"document_parallel_{sizes.doc_steps}",
                 f"5 · {sizes.doc_bytes / 1e6:g} MB JSON in context, parallel of {sizes.doc_steps} substeps",
                 _write(folder, "document_parallel.json", _recipe([read_doc, par]))))

    # 6. a 1 MB string artifact rendered into N templates; each result overwrites one key, so
    #    memory holds one rendering at a time and the cost measured is rendering, not storage.
    (folder / "big.txt").write_text(_big_text(sizes.big_string_bytes), encoding="utf-8")
    read_big = {"type": "read_files", "config": {"path": "big.txt", "content_key": "big"}}
    renders = [_set("page", f"<article id='{i}'>{{{{ big }}}}</article><footer>{{{{ seed }}}} #{i}</footer>")
               for i in range(sizes.big_string_renders)]
    add(Workload(f"big_string_{sizes.big_string_renders}",
                 f"6 · {sizes.big_string_bytes / 1e6:g} MB string rendered into {sizes.big_string_renders:,} templates",
                 _write(folder, "big_string.json", _recipe([read_big, *renders]))))
    return cases


Builder = Callable[[Path, Sizes], list[Workload]]
