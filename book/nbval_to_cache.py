"""A pytest plugin: nbval's run of the chapters is the book's execution (issue 17).

``make test`` runs every chapter once, through nbval (each code cell is a test). With
``-p book.nbval_to_cache --nbval-cache DIR --nbval-cache-pages chapters``, the outputs of a
chapter notebook whose code cells *all* passed are stored in the jupyter-cache at ``DIR``,
which the book build reads in ``execute_notebooks: cache`` mode (``_config.yml``): the build
that follows finds every chapter executed and runs none of them again. A chapter with a failed
cell is not stored, so the build executes it and fails on it as it would have anyway.

The outputs travel from the pytest-xdist workers to the controller as JSON in each report's
``user_properties``; the controller writes the cache once, at the end of the session (one
process, so no concurrent writes to jupyter-cache's SQLite database). The cache matches a
page by the hash of its code cells' sources and kernelspec, which the notebook jupytext makes
from a page and the notebook myst-nb reads from it share (tests/test_nbval_cache.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import nbformat
import pytest

KEY = "rrmbook_nbval_cell"


def pytest_addoption(parser):
    group = parser.getgroup("nbval-cache", "store nbval's executions for the book build")
    group.addoption("--nbval-cache", metavar="DIR", default=None,
                    help="jupyter-cache folder to store fully passing executions in")
    group.addoption("--nbval-cache-pages", metavar="DIR", default=None,
                    help="folder of the book's pages: a notebook X.ipynb is stored as the "
                         "execution of DIR/X.md, and only if that page exists")


def _enabled(config) -> bool:
    return bool(config.getoption("nbval_cache", None))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or type(item).__name__ != "IPyNbCell" or not _enabled(item.config):
        return
    outputs = [dict(o) for o in (item.test_outputs or [])]
    report.user_properties.append((KEY, {
        "file": str(item.parent.fspath), "cell": int(item.cell_num),
        "outputs": json.dumps(outputs), "seconds": float(call.duration)}))


#: file -> {code cell number: (passed, record)}, filled from the reports (in the controller
#: under pytest-xdist, where the workers' reports arrive)
_SEEN: dict[str, dict[int, tuple[bool, dict]]] = defaultdict(dict)


def pytest_runtest_logreport(report):
    for key, value in getattr(report, "user_properties", ()):
        if key == KEY and report.when == "call":
            _SEEN[value["file"]][value["cell"]] = (report.passed, value)


def executed_notebook(path: Path, cells: dict[int, tuple[bool, dict]]):
    """The notebook at ``path`` with the outputs nbval recorded, or ``None`` unless every code
    cell ran and passed. Returns ``(notebook, seconds)``."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    if len(cells) != len(code) or not all(passed for passed, _ in cells.values()):
        return None
    seconds = 0.0
    for number, cell in enumerate(code):
        _, record = cells[number]
        cell.outputs = [nbformat.from_dict(o) for o in json.loads(record["outputs"])]
        cell.execution_count = number + 1
        seconds += record["seconds"]
    return nb, seconds


def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if not _enabled(config) or hasattr(config, "workerinput"):  # workers report, the controller writes
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    pages = Path(config.getoption("nbval_cache_pages") or ".").resolve()
    cache = get_cache(str(Path(config.getoption("nbval_cache")).resolve()))
    stored, skipped = [], []
    for file, cells in sorted(_SEEN.items()):
        page = pages / f"{Path(file).stem}.md"
        if not page.is_file():
            continue
        done = executed_notebook(Path(file), cells)
        if done is None:
            skipped.append(page.name)
            continue
        nb, seconds = done
        cache.cache_notebook_bundle(CacheBundleIn(nb, str(page), data={"execution_seconds": seconds}),
                                    check_validity=False, overwrite=True)
        stored.append(page.name)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"nbval_to_cache: stored the executions of {len(stored)} pages in "
                            f"{config.getoption('nbval_cache')}"
                            + (f"; not stored (a cell failed): {', '.join(skipped)}" if skipped else ""))
