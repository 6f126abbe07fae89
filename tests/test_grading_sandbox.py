"""Grading in a sandbox (issue 15): the ch03 submissions that changed grades under the
kernel grader, graded with ``isolation="sandbox"``: the hidden tests run in the grader's
process, the submission in a bubblewrap sandbox on a copy of itself."""

from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import nbformat
import pytest

from rrmbook.teaching import build_autograder, grade_notebook

# skipped only where bubblewrap is not installed: where it is, a sandbox that does not
# start is a failure, not a reason to skip
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

SOLUTION = Path("solutions/ch03_exercises.ipynb")
HANDOUT = Path("exercises/ch03_exercises.ipynb")


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    return build_autograder(SOLUTION, tmp_path_factory.mktemp("ag") / "autograder")


def _with_cell(base: Path, source: str, folder: Path, name: str) -> Path:
    nb = nbformat.read(base, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(source))
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _checksums(*folders: Path) -> dict[str, str]:
    """Every instructor file: the autograder with its hidden tests, solutions, handouts."""
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_solution_scores_full_marks_and_the_handout_nothing(autograder, tmp_path):
    full = grade_notebook(SOLUTION, autograder, timeout_per_cell=60, isolation="sandbox")
    assert (full.total, full.possible) == (10, 10), full.questions
    empty = grade_notebook(HANDOUT, autograder, timeout_per_cell=60, isolation="sandbox")
    assert empty.total == 0 and empty.possible == 10


ATTACKS = {
    # make every comparison pass in the student's own process
    "numpy": "import numpy as np\nnp.array_equal = np.allclose = lambda *a, **k: True\n"
             "np.testing.assert_array_equal = lambda *a, **k: None",
    # replace the grader's and otter's test runners where the kernel grader ran them
    "runner": "import rrmbook.teaching.kernel as k\nk.run_tests_in_kernel = lambda *a, **k2: None\n"
              "from otter.test_files import exception_test\n"
              "exception_test.ExceptionTestFile.run = lambda self, env: None",
    # look for the grader's files through /proc and copy them into an error message
    "snoop": "import os, glob\nfound = []\nfor d in glob.glob('/proc/*/cwd'):\n"
             "    try:\n        found += [os.path.join(d, f) for f in os.listdir(d)]\n"
             "    except OSError:\n        pass\n"
             "for top in ('/tmp', '/work', '/root', '/home', '/sandbox'):\n"
             "    for root, dirs, files in os.walk(top):\n"
             "        dirs[:] = [x for x in dirs if x not in ('.venv', 'versions')]\n"
             "        found += [f for f in files if f.endswith(('.py', '.ipynb', '.csv'))\n"
             "                  and 'rrmbook' not in root]\n"
             "found = [f for f in found if not f.endswith('submission.ipynb')]  # its own copy\n"
             "raise RuntimeError('FOUND ' + repr(found))",
    # a detached process that would rewrite files after grading
    "detached": "import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                "'import time; time.sleep(3); open(\"/tmp/evil\", \"w\").write(\"x\")'], "
                "start_new_session=True)",
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_an_attack_on_a_stub_submission_earns_nothing_and_changes_nothing(autograder, tmp_path,
                                                                           attack):
    path = _with_cell(HANDOUT, ATTACKS[attack], tmp_path, attack)
    instructor = (autograder.notebook.parent, SOLUTION.parent, HANDOUT.parent)
    before = _checksums(*instructor)
    result = grade_notebook(path, autograder, timeout_per_cell=60, isolation="sandbox")
    assert result.total == 0, (attack, {q: r.score for q, r in result.questions.items()})
    text = " ".join(result.notes) + " ".join(c.message for q in result.questions.values()
                                             for c in q.cases)
    assert "def test_q" not in text and "BEGIN SOLUTION" not in text
    if attack == "snoop":
        assert "FOUND []" in text                       # nothing of the grader's was visible
    if attack == "detached":           # it would have written /tmp/evil (its own /tmp) by now
        time.sleep(4)
        assert not Path("/tmp/evil").exists()
    assert _checksums(*instructor) == before


def test_an_attack_on_the_solution_changes_no_score(autograder, tmp_path):
    path = _with_cell(SOLUTION, ATTACKS["numpy"] + "\n" + ATTACKS["runner"], tmp_path, "both")
    result = grade_notebook(path, autograder, timeout_per_cell=60, isolation="sandbox")
    assert result.total == 10


def test_a_function_that_never_returns_costs_its_question_only(autograder, tmp_path):
    source = ("def gms(queues, exclusion):\n    while True:\n        pass")
    path = _with_cell(SOLUTION, source, tmp_path, "loop")
    result = grade_notebook(path, autograder, timeout_per_cell=5, isolation="sandbox")
    assert result.questions["q1"].score == 4 and result.questions["q3"].score == 2
    assert result.questions["q2"].score == 0
    assert any("in time" in c.message for c in result.questions["q2"].cases)
    assert result.questions["q2"].timed_out and result.status == "timed out: q2"


def test_importing_the_library_answer_earns_nothing(autograder, tmp_path):
    source = ("from rrmbook.conflict import conflict_success as success\n"
              "from rrmbook.traffic import queue_step as queue_update\n"
              "import rrmbook.conflict\n"
              "assert rrmbook.conflict.paper_cg8() is not None   # the rest of the library works")
    path = _with_cell(HANDOUT, source, tmp_path, "borrowed")
    result = grade_notebook(path, autograder, timeout_per_cell=60, isolation="sandbox")
    assert result.questions["q1"].score == 0 and result.questions["q3"].score == 0
    messages = " ".join(c.message for c in result.questions["q1"].cases)
    assert "rrmbook.conflict.conflict_success is not available while your work is graded" in messages
    assert result.notes == []                  # importing worked; only calling is refused


def test_every_protected_function_exists_and_is_redacted(tmp_path):
    import importlib

    from rrmbook.teaching.protect import PROTECTED, redacted_package

    names = tuple(n for names in PROTECTED.values() for n in names)
    for dotted in names:                       # each names a real function of the library
        module, function = dotted.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), dotted
    copy = redacted_package(names, tmp_path)
    text = (copy / "pf.py").read_text()
    assert "rrmbook.pf.top_n is not available" in text and "def top_n(" in text
    assert (copy / "conflict.py").read_text().count("is not available") == 1
    with pytest.raises(ValueError, match="no function"):
        redacted_package(("rrmbook.pf.no_such_function",), tmp_path / "again")


@pytest.mark.parametrize("isolation", ["kernel", "sandbox"])
def test_a_function_that_modifies_its_input_is_told_so(autograder, tmp_path, isolation):
    source = ("import numpy as np\n"
              "def queue_update(q_prev, arrivals, service):\n"
              "    q_prev += arrivals\n"
              "    np.maximum(q_prev - service, 0, out=q_prev)\n"
              "    return q_prev")
    path = _with_cell(SOLUTION, source, tmp_path, f"mutates_{isolation}")
    q3 = grade_notebook(path, autograder, timeout_per_cell=60, isolation=isolation).questions["q3"]
    failed = [c for c in q3.cases if not c.passed]
    assert [c.name for c in failed] == ["test_q3_matches_reference"]
    assert "must not modify its inputs" in failed[0].message


def test_a_folder_graded_by_two_workers_matches_one_and_hides_hidden_details(tmp_path):
    from rrmbook.teaching import grade_submissions

    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SOLUTION, subs / "good.ipynb")
    shutil.copy(HANDOUT, subs / "stub.ipynb")
    _with_cell(SOLUTION, "def gms(queues, exclusion):\n    return queues > 100", subs, "wrong_q2")
    texts = {}
    for workers, hidden in ((1, False), (2, True)):
        out = tmp_path / f"out{workers}"
        csv_path = grade_submissions(subs, out, "solutions", "ch03_exercises", 60.0,
                                     isolation="sandbox", workers=workers, show_hidden=hidden)
        texts[workers] = (csv_path.read_text(), (out / "feedback" / "wrong_q2.md").read_text())
    assert texts[1][0] == texts[2][0]                   # the same grades.csv
    assert "good,good.ipynb,4,4,2,10,ok" in texts[1][0]
    assert "stub,stub.ipynb,0,0,0,0,unchanged from the handout" in texts[1][0]
    hidden_off, hidden_on = texts[1][1], texts[2][1]
    assert "FAILED: hidden test (1 pt)" in hidden_off and "test_q2_matches_reference" not in hidden_off
    assert "FAILED: hidden test `test_q2_matches_reference`" in hidden_on
    with pytest.raises(ValueError, match="workers"):
        grade_submissions(subs, tmp_path / "x", "solutions", "ch03_exercises", workers=2)
