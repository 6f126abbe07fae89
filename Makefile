# rrmbook: two commands do everything on a fresh machine with Python 3.11.
#   make book   -> .venv + HTML book in _build/html (clean build, every chapter executed)
#   make test   -> .venv + the book + the whole test suite
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NBDIR  := _build/nbval
CACHE  := _build/.jupyter_cache
# the tests that need the built book (phase 3 of make test)
BOOK_TESTS := $(wildcard tests/test_book_html.py tests/test_book_browser.py tests/test_lab_browser.py)
BUILD  := $(VENV)/bin/jupyter-book build . --warningiserror --keep-going || \
	  (echo "book build failed"; exit 1)
# One torch/BLAS thread per process: the networks are small, and the test suite runs two
# processes on two cores; more threads than free cores slow training down many times over.
export OMP_NUM_THREADS ?= 1
# no progress bars by default where nobody watches: the book build and the tests (rrmbook.runtime)
export RRMBOOK_PROGRESS ?= 0

.PHONY: help venv book browser test unit notebooks exercises grade lab lint bench clean

help:
	@echo "make book       build the HTML book into _build/html (clean, executed)"
	@echo "make test       run the whole test suite (every page runs once; the book is built from those runs)"
	@echo "make unit       unit and property tests only (fast)"
	@echo "make notebooks  write executed .ipynb copies of the chapters into _build/notebooks"
	@echo "make exercises  regenerate exercises/ from solutions/"
	@echo "make grade SUBMISSIONS=dir ASSIGNMENT=ch03_exercises   grade submitted notebooks"
	@echo "make lab        open the book in JupyterLab (chapters open as notebooks)"
	@echo "make bench      print the benchmark tables"

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "torch==2.13.0"
	$(PY) -m pip install --quiet -e ".[book,grade,dev,ray,lab]"
	$(PY) -m ipykernel install --prefix $(VENV) --name python3 --display-name "Python 3" >/dev/null
	touch $(STAMP)

# a clean build: the execution cache is emptied, so every page runs (each page's time is
# printed as "Executed notebook in N seconds")
book: $(STAMP)
	rm -rf _build/html _build/jupyter_execute _build/.doctrees $(CACHE)
	$(BUILD)

# the browser tests (tests/test_book_browser.py) drive Debian's chromium, never a browser
# Playwright downloads; installed here when missing and run as root, else those tests skip
browser:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null && \
	    { apt-get install -y chromium >/dev/null 2>&1 || \
	      { apt-get update >/dev/null 2>&1 && apt-get install -y chromium >/dev/null 2>&1; }; }; } || \
	  echo "could not install chromium: tests/test_book_browser.py will skip"

# One execution of every page: phase 1 runs the unit tests and every chapter and solution
# notebook through nbval, and book/nbval_to_cache.py stores each chapter whose cells all passed
# in the book's execution cache; phase 2 builds the book from that cache (execute_notebooks:
# cache) without running a chapter again; phase 3 checks the built book and JupyterLab in a
# browser. (MPLBACKEND is left alone so the kernels draw figures inline for the book; the test
# process itself uses Agg, tests/conftest.py.)
test: $(STAMP) browser
	rm -rf $(NBDIR) $(CACHE) && mkdir -p $(NBDIR)
	for f in chapters/*.md; do \
	  $(VENV)/bin/jupytext --quiet --to ipynb -o $(NBDIR)/$$(basename $${f%.md}).ipynb $$f || exit 1; done
	book/timed "1: unit tests, chapters and solutions through nbval" \
	  $(PY) -m pytest -n 2 --dist loadfile --nbval-lax --nbval-cell-timeout=600 -p no:cacheprovider \
	  -p book.nbval_to_cache --nbval-cache=$(CACHE) --nbval-cache-pages=chapters \
	  $(addprefix --ignore=,$(BOOK_TESTS)) tests $(NBDIR) solutions
	rm -rf _build/html _build/jupyter_execute _build/.doctrees
	book/timed "2: the book, from phase 1's executions" $(BUILD)
	book/timed "3: the built book and JupyterLab in a browser" \
	  $(PY) -m pytest -p no:cacheprovider $(BOOK_TESTS)

unit: $(STAMP)
	$(PY) -m pytest -n 2 tests $(addprefix --ignore=,$(BOOK_TESTS))

notebooks: $(STAMP)
	mkdir -p _build/notebooks
	for f in chapters/*.md; do \
	  $(VENV)/bin/jupytext --to ipynb --execute -o _build/notebooks/$$(basename $${f%.md}).ipynb $$f; done

exercises: $(STAMP)
	$(VENV)/bin/rrmbook exercises build --grading-dir _build/grading

grade: $(STAMP)
	@test -n "$(SUBMISSIONS)" || (echo "usage: make grade SUBMISSIONS=dir ASSIGNMENT=ch03_exercises"; exit 2)
	$(VENV)/bin/rrmbook grade $(SUBMISSIONS) --out grading-output $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT),)

# JupyterLab at the repository root (chapters/, exercises/, solutions/ all reachable); a
# double-click opens a chapter as a notebook (lab/overrides.json), and saving leaves the file
# unchanged (jupytext.toml; the kernel's name and display name are the ones the pages declare)
lab: $(STAMP)
	$(VENV)/bin/pip install --quiet -e ".[lab]"
	mkdir -p $(VENV)/share/jupyter/lab/settings
	cp lab/overrides.json $(VENV)/share/jupyter/lab/settings/overrides.json
	RRMBOOK_PROGRESS= $(VENV)/bin/jupyter lab --ServerApp.root_dir=$(CURDIR) \
	  --LabApp.news_url=None \
	  --LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

lint: $(STAMP)
	$(VENV)/bin/ruff check rrmbook tests benchmarks

bench: $(STAMP)
	$(VENV)/bin/python benchmarks/bench_conflict.py
	$(VENV)/bin/python benchmarks/bench_cellular.py
	$(VENV)/bin/python benchmarks/bench_mappo.py
	$(VENV)/bin/python benchmarks/bench_offline.py

clean:
	rm -rf _build
