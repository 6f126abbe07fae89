"""``make test`` executes every page once (issue 17): nbval's outputs of a chapter become the
book's through ``book/nbval_to_cache.py`` and jupyter-cache. Checked here: the notebook nbval
runs (jupytext's conversion of a page) and the one the book build reads (myst-nb's) hash alike
for every page, so the build finds each stored execution; a chapter is stored only when every
code cell ran and passed, with nbval's outputs in order."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jupytext
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "chapters").glob("*.md"))


def _plugin():
    spec = importlib.util.spec_from_file_location("nbval_to_cache", ROOT / "book" / "nbval_to_cache.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _as_nbval_runs_it(page: Path) -> nbformat.NotebookNode:
    """What the Makefile does: ``jupytext --to ipynb``, then nbformat reads the file."""
    text = jupytext.writes(jupytext.read(page), fmt="ipynb")
    return nbformat.reads(text, as_version=4)


def test_every_page_hashes_alike_for_nbval_and_the_book_build(tmp_path):
    get_cache = pytest.importorskip("jupyter_cache").get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook

    cache = get_cache(str(tmp_path / "cache"))
    for page in PAGES:
        nb = _as_nbval_runs_it(page)
        if not any(c.cell_type == "code" for c in nb.cells):
            continue
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="ran\n")]
        record = cache.cache_notebook_bundle(CacheBundleIn(nb, str(page)), check_validity=False,
                                             overwrite=True)
        as_built = read_myst_markdown_notebook(page.read_text(encoding="utf-8"), path=page)
        assert cache.match_cache_notebook(as_built).pk == record.pk, page.name


def _cells(nb, skip=None):
    """What the plugin collects from nbval's reports: every code cell passed, printing its number."""
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    out = [{"output_type": "stream", "name": "stdout", "text": f"cell {i}\n"} for i in range(n_code)]
    return {i: (True, {"outputs": json.dumps([out[i]]), "seconds": 0.5})
            for i in range(n_code) if i != skip}


def test_a_notebook_is_stored_only_when_every_code_cell_passed(tmp_path):
    plugin = _plugin()
    path = tmp_path / "page.ipynb"
    nbformat.write(_as_nbval_runs_it(ROOT / "chapters" / "10_how_we_measure.md"), path)
    nb = nbformat.read(path, as_version=4)
    n_code = sum(c.cell_type == "code" for c in nb.cells)
    assert n_code > 3

    done = plugin.executed_notebook(path, _cells(nb))
    assert done is not None
    executed, seconds = done
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert [c.outputs[0]["text"] for c in code] == [f"cell {i}\n" for i in range(n_code)]
    assert [c.execution_count for c in code] == list(range(1, n_code + 1))
    assert seconds == pytest.approx(0.5 * n_code)

    failed = _cells(nb)
    failed[2] = (False, failed[2][1])
    assert plugin.executed_notebook(path, failed) is None          # a failed cell
    assert plugin.executed_notebook(path, _cells(nb, skip=1)) is None   # a cell that never ran
