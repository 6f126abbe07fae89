"""A Sphinx extension for this book's HTML: a self-contained book that works offline.

- MathJax comes from the build itself (the ``sphinx-mathjax-offline`` extension, listed in
  ``_config.yml``, copies MathJax 3.2.2 into ``_static/mathjax``); this module only checks
  that ``mathjax_path`` is local.
- Sphinx 7 writes every inline script added after the builder started twice (``None`` and
  ``''`` file names compare unequal; fixed in Sphinx 8.2, which Jupyter Book 1 cannot use):
  sphinx-thebe's ``const THEBE_JS_URL`` twice is a console error on every page. The scripts
  of each page are de-duplicated here, and with thebe off (``launch_buttons: thebe: false``)
  sphinx-thebe's two scripts, which name thebe's CDN, are dropped altogether.
- Widgets: no chapter shows a widget view in the HTML book (the dashboards' cells remove
  their output; a static figure follows each). ``nb_ipywidgets_js: {}`` in ``_config.yml``
  keeps require.js and the widget manager (both from CDNs) off every page; here the widget
  state, useless without a view, is dropped too, and a page that does embed a widget view
  is reported as a warning (the build runs with ``--warningiserror``), since the book ships
  no widget manager that could show it.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def _key(script: Any) -> tuple:
    attributes = getattr(script, "attributes", {}) or {}
    return (getattr(script, "filename", script) or "", *sorted(attributes.items()))


def check_mathjax_path(app: Sphinx, config: Any) -> None:
    path = str(getattr(config, "mathjax_path", "") or "")
    if "://" in path or path.startswith("//"):
        logger.warning(f"[offline_html] mathjax_path is not local: {path}", type="offline_html")


def _thebe_on(app: Sphinx) -> bool:
    options = app.config.html_theme_options or {}
    return bool((options.get("launch_buttons") or {}).get("thebe"))


def _is_thebe(script: Any) -> bool:
    name = getattr(script, "filename", None) or ""
    body = (getattr(script, "attributes", {}) or {}).get("body", "")
    return name.endswith("sphinx-thebe.js") or "THEBE_JS_URL" in body


def clean_page_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                       doctree: Any) -> None:
    scripts = context.get("script_files")
    if not isinstance(scripts, list):
        return
    body = context.get("body", "") or ""
    has_view = WIDGET_VIEW in body
    if has_view:
        logger.warning(f"[offline_html] {pagename} embeds a widget view, but the book ships no "
                       "widget manager to show it: remove the cell's output "
                       "(tags: [remove-output])", type="offline_html")
    thebe = _thebe_on(app)
    seen: set = set()
    kept = []
    for script in scripts:
        key = _key(script)
        if key in seen:
            continue
        seen.add(key)
        if not has_view and getattr(script, "attributes", {}).get("type") == WIDGET_STATE:
            continue
        if not thebe and _is_thebe(script):
            continue
        kept.append(script)
    scripts[:] = kept


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", check_mathjax_path, priority=900)
    # after every other handler that adds scripts to the page (sphinx.ext.mathjax, myst-nb)
    app.connect("html-page-context", clean_page_scripts, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
