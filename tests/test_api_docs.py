"""Citable and documented (issue 18, item 8): ``CITATION.cff`` matches the package, every
public config dataclass documents each of its fields in its class docstring (so ``help()``
and the book's API reference show them), and the API reference pages of ``_toc.yml`` run
autodoc on objects that exist.
"""

from __future__ import annotations

import dataclasses
import datetime
import importlib
import inspect
import pydoc
import re
import tomllib
from pathlib import Path

import pytest
import yaml
from book_helpers import toc

import rrmbook
from rrmbook.envs import CellularConfig, ConflictGraphConfig, PFConfig
from rrmbook.marl import MAPPOConfig
from rrmbook.offline import CQLConfig, DQNConfig, SACConfig

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [CellularConfig, ConflictGraphConfig, PFConfig, MAPPOConfig, SACConfig, DQNConfig,
           CQLConfig]
API_PART = "API reference"


# --------------------------------------------------------------------------- config fields

def _field_section(cls: type) -> str:
    """The NumPy-style ``Attributes`` (or ``Parameters``) section of ``cls``'s own
    docstring, up to the next section or the end."""
    doc = inspect.cleandoc(cls.__dict__.get("__doc__") or "")
    match = re.search(r"^(Attributes|Parameters)\n-{3,}\n(.*?)(?=^\w[\w ]*\n-{3,}\n|\Z)",
                      doc, re.M | re.S)
    assert match, f"{cls.__name__}: no 'Attributes' or 'Parameters' section in its docstring"
    return match.group(2)


def _entries(section: str) -> dict[str, tuple[str, str]]:
    """name -> (type, description) of every ``name : type`` entry, the description being
    the indented lines below it."""
    out: dict[str, tuple[str, str]] = {}
    name = None
    for line in section.splitlines():
        head = re.match(r"^(\w+(?:, \w+)*) : (.+)$", line)
        if head:
            name, typ = head.groups()
            for n in name.split(", "):
                out[n] = (typ.strip(), "")
            name = name.split(", ")
        elif name and line.startswith("    "):
            for n in name:
                out[n] = (out[n][0], (out[n][1] + " " + line.strip()).strip())
    return out


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_every_config_field_is_documented(cls: type) -> None:
    entries = _entries(_field_section(cls))
    fields = [f.name for f in dataclasses.fields(cls)]
    missing = [f for f in fields if f not in entries]
    assert not missing, f"{cls.__name__}: fields without an entry in its docstring: {missing}"
    for name in fields:
        typ, desc = entries[name]
        assert typ and len(desc) > 10, f"{cls.__name__}.{name}: an entry needs a type and text"
    unknown = sorted(set(entries) - set(fields))
    assert not unknown, f"{cls.__name__}: docstring entries that are not fields: {unknown}"


@pytest.mark.parametrize("cls", CONFIGS, ids=lambda c: c.__name__)
def test_help_shows_every_field(cls: type) -> None:
    text = pydoc.render_doc(cls, renderer=pydoc.plaintext)
    for f in dataclasses.fields(cls):
        assert re.search(rf"^[\s|]*{f.name} : ", text, re.M), f"help({cls.__name__}): {f.name}"


def test_cellular_arrival_rate_states_its_unit() -> None:
    """The issue: ``make_env``/``cellular()`` take packets per second, the config packets
    per slot; the field's entry says both."""
    _, desc = _entries(_field_section(CellularConfig))["arrival_rate"]
    assert "packets per slot" in desc and "packets/s" in desc
    config = rrmbook.make_config("paper-hex19", load=20.0)
    assert config.arrival_rate == pytest.approx(20.0 * config.slot_s)


def test_defaults_quoted_in_the_docstrings_are_the_defaults() -> None:
    """Where an entry says "default X" for a number X, X is the field's default."""
    number = r"-?\d[\d_]*(?:\.\d+)?(?:e-?\d+)?"
    checked = 0
    for cls in CONFIGS:
        entries = _entries(_field_section(cls))
        for f in dataclasses.fields(cls):
            match = re.search(rf"\bdefault ({number})\b", entries[f.name][1], re.I)
            if match and f.default is not dataclasses.MISSING:
                quoted = float(match.group(1).replace("_", ""))
                assert float(f.default) == pytest.approx(quoted), f"{cls.__name__}.{f.name}"
                checked += 1
    assert checked > 50


# --------------------------------------------------------------------------- CITATION.cff

def _citation() -> dict:
    return yaml.safe_load((ROOT / "CITATION.cff").read_text(encoding="utf-8"))


def test_citation_cff_has_the_required_keys() -> None:
    cff = _citation()
    assert cff["cff-version"] == "1.2.0"
    for key in ("message", "title", "authors", "version", "date-released"):
        assert cff.get(key), f"CITATION.cff: {key} missing"
    for author in cff["authors"]:
        assert author.get("name") or author.get("family-names"), author
    released = cff["date-released"]
    released = released.isoformat() if isinstance(released, datetime.date) else released
    assert released == "2026-12-05"


def test_citation_cff_matches_the_package() -> None:
    cff = _citation()
    assert str(cff["version"]) == rrmbook.__version__
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert cff["version"] == project["version"]
    if isinstance(project.get("license"), str):
        assert cff["license"] == project["license"]


def test_citation_cff_references_the_two_papers() -> None:
    refs = {r["title"]: r for r in _citation()["references"]}
    papers = {
        "Multi-Agent Reinforcement Learning for Multi-Cell Spectrum and Power Allocation":
            ["Zhang", "Guo"],
        "An Offline Multi-Agent Reinforcement Learning Framework for Radio Resource "
        "Management": ["Eldeeb", "Alves"],
    }
    for title, authors in papers.items():
        assert title in refs, f"CITATION.cff: no reference '{title}'"
        assert [a["family-names"] for a in refs[title]["authors"]] == authors
        assert refs[title]["year"] == 2025


# --------------------------------------------------------------------------- API pages

def _api_pages() -> list[str]:
    parts = toc()["parts"]
    captions = [p["caption"] for p in parts]
    assert API_PART in captions, f"_toc.yml has no part '{API_PART}'"
    return [c["file"] for c in parts[captions.index(API_PART)]["chapters"]]


def _directives(page: str) -> list[tuple[str, str, str]]:
    """(kind, target, options) of every autodoc directive in the page's eval-rst blocks."""
    text = (ROOT / f"{page}.md").read_text(encoding="utf-8")
    blocks = re.findall(r"^```\{eval-rst\}\n(.*?)^```", text, re.M | re.S)
    found = []
    for block in blocks:
        for m in re.finditer(r"^\.\. auto(\w+):: (\S+)\n((?:   :.*\n)*)", block, re.M):
            found.append(m.groups())
    return found


def _resolve(kind: str, target: str):
    """Import ``target`` the way autodoc does: a module, or an attribute of the longest
    importable module prefix (``rrmbook.evaluate`` the function, not the module)."""
    if kind == "module":
        return importlib.import_module(target)
    parts = target.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for name in parts[cut:]:
                obj = getattr(obj, name)
        except AttributeError:
            continue
        return obj
    raise ImportError(target)


def test_api_part_comes_before_the_back_matter() -> None:
    captions = [p["caption"] for p in toc()["parts"]]
    assert captions.index(API_PART) == captions.index("Back matter") - 1
    assert captions.index("Appendix") < captions.index(API_PART)


@pytest.mark.parametrize("page", _api_pages())
def test_api_page_documents_importable_objects(page: str) -> None:
    assert (ROOT / f"{page}.md").is_file(), f"{page}.md is listed in _toc.yml but missing"
    directives = _directives(page)
    assert directives, f"{page}: no autodoc directive"
    for kind, target, _ in directives:
        obj = _resolve(kind, target)
        if kind == "class":
            assert inspect.isclass(obj), f"{page}: {target} is not a class"
        elif kind == "function":
            assert callable(obj) and not inspect.isclass(obj), f"{page}: {target}"
        elif kind == "module":
            assert inspect.ismodule(obj), f"{page}: {target}"


def test_api_pages_document_every_config_once() -> None:
    documented = [(target, options) for page in _api_pages()
                  for kind, target, options in _directives(page) if kind == "class"]
    indexed = [_resolve("class", t) for t, options in documented if ":no-index:" not in options]
    for cls in CONFIGS:
        assert indexed.count(cls) == 1, f"{cls.__name__}: documented {indexed.count(cls)} times"
    names = [t for t, options in documented if ":no-index:" not in options]
    assert len(names) == len(set(names)), "an object is documented twice without :no-index:"
