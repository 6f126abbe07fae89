"""Chapters stay byte-identical when JupyterLab opens, runs and saves them (issue 17): with the
repository's ``jupytext.toml`` a page read as a notebook, given outputs and the metadata a
Jupyter session adds, and written back is the same text; the kernel ``make`` installs carries
the name and display name the pages declare, so selecting it changes nothing either."""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import pytest
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "chapters").glob("*.md"))  # intro.md is plain Markdown, not a notebook
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _as_after_a_session(nb):
    """What running the notebook in JupyterLab adds before autosave writes it."""
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.2",
                                    "mimetype": "text/x-python", "file_extension": ".py"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.execution_count = i + 1
            cell.outputs = [{"output_type": "stream", "name": "stdout", "text": "ran\n"}]
            cell.metadata.update({"execution": {"iopub.status.idle": "2026-12-05T20:00:00Z"},
                                  "scrolled": True, "collapsed": False, "trusted": True})
    return nb


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_round_trips_through_a_jupyter_session(page: Path) -> None:
    config = load_jupytext_config(str(ROOT))
    assert config is not None, "jupytext.toml is missing at the repository root"
    text = page.read_text(encoding="utf-8")
    nb = _as_after_a_session(jupytext.reads(text, fmt="md:myst"))
    assert nb.metadata.get("kernelspec") == KERNELSPEC, f"{page.name}: kernelspec"
    saved = jupytext.writes(nb, fmt="md:myst", config=config)
    assert saved == text, (f"{page.name} changes when saved from JupyterLab; run "
                           f"`jupytext --to md:myst -o {page.name} {page.name}` in its folder")


def test_the_installed_kernel_matches_the_pages() -> None:
    make = (ROOT / "Makefile").read_text(encoding="utf-8")
    install = re.search(r"ipykernel install .*--name (\S+) --display-name \"([^\"]+)\"", make)
    assert install, "the Makefile installs no ipykernel kernel"
    assert (install.group(1), install.group(2)) == (KERNELSPEC["name"], KERNELSPEC["display_name"])
