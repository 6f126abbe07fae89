"""The grader tried as a student who wants a better grade would (issue 15).

One folder holds the attacks of the issue, each one extra cell in a ch03 submission (on the
unanswered handout, so its honest work deserves 0, or on a solved notebook where the attack
must not lower the score), beside two honest students graded before and after them.  It is
graded once, sandboxed, by two workers, with a secret in the instructor's environment and a
``$HOME`` of the test's own.  Each attack must earn what its honest work deserves, leave
every other score and every instructor file unchanged, leave no process behind and be
reported in the ``status`` column.  The hidden tests run in the grader's process; the
submission in a bubblewrap sandbox on a copy of itself.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
import time
import uuid
from pathlib import Path

import nbformat
import pytest

pytest.importorskip("otter", reason="needs the grade extra (otter-grader)")

from rrmbook.teaching import build_autograder, grade_notebook, grade_submissions  # noqa: E402

# skipped only where bubblewrap is not installed: where it is, a sandbox that does not
# start is a failure, not a reason to skip
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")

ROOT = Path(__file__).resolve().parents[1]
SOLUTION = ROOT / "solutions" / "ch03_exercises.ipynb"
HANDOUT = ROOT / "exercises" / "ch03_exercises.ipynb"
NAME = "ch03_exercises"
TIMEOUT = 5.0
MARKER = f"rrmbook-attack-{uuid.uuid4().hex[:8]}"   # in every process an attack starts
SECRET = f"s3cret-{uuid.uuid4().hex[:8]}"


def _attacks(paths: dict[str, Path]) -> dict[str, tuple[str, str, str]]:
    """name -> (base notebook, the extra cell, the status it must get).  ``paths`` are the
    grader's files the attacks aim at, as an attacker who guessed them would."""
    def detached(code: str) -> str:
        return ("import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', "
                f"{code + '  # ' + MARKER!r}], start_new_session=True)")

    sleeper = detached("import time; time.sleep(600)")
    return {
        # find the grader through /proc and copy what it finds into an error message
        "snoop": ("handout", "import os, glob\nfound = []\nfor d in glob.glob('/proc/*/cwd'):\n"
                  "    try:\n        found += [os.path.join(d, f) for f in os.listdir(d)]\n"
                  "    except OSError:\n        pass\n"
                  "for top in ('/tmp', '/work', '/root', '/home', '/sandbox'):\n"
                  "    for root, dirs, files in os.walk(top):\n"
                  "        dirs[:] = [x for x in dirs if x not in ('.venv', 'versions')]\n"
                  "        found += [f for f in files if f.endswith(('.py', '.ipynb', '.csv'))\n"
                  "                  and 'rrmbook' not in root]\n"
                  "found = [f for f in found if not f.endswith('submission.ipynb')]  # its copy\n"
                  f"raise RuntimeError('FOUND ' + repr(found) + repr(open({str(paths['test'])!r}).read()))",
                  "sandbox violation: looked at other processes; searched files outside its folder"),
        # replace the grader's and otter's test runners where the kernel grader ran them
        "runner": ("handout", "import rrmbook.teaching.kernel as k\n"
                   "k.run_tests_in_kernel = lambda *a, **k2: None\n"
                   "from otter.test_files import exception_test\n"
                   "exception_test.ExceptionTestFile.run = lambda self, env: None",
                   "sandbox violation: replaced library code"),
        # make every comparison pass in the student's own process
        "numpy": ("handout", "import numpy as np\nnp.array_equal = np.allclose = lambda *a, **k: True\n"
                  "np.testing.assert_array_equal = lambda *a, **k: None",
                  "sandbox violation: replaced library code"),
        # rewrite the hidden tests on disk, for this student and every later one
        "tests": ("handout", f"open({str(paths['test'])!r}, 'w').write('def test_q1(success):\\n    pass\\n')",
                  "sandbox violation: wrote outside its folder"),
        # lower a later student's grade by overwriting their notebook
        "victim": ("handout", f"open({str(paths['victim'])!r}, 'w').write('{{}}')",
                   "sandbox violation: wrote outside its folder"),
        # a detached process that rewrites grades.csv after grading
        "csv": ("handout", detached(f"import time; time.sleep(2); open({str(paths['csv'])!r}, 'w')"
                                    ".write('x')"), "sandbox violation: started a process"),
        # the library's answer under the question's name
        "borrow": ("handout", "from rrmbook.conflict import conflict_success as success\n"
                   "from rrmbook.traffic import queue_step as queue_update",
                   "sandbox violation: used rrmbook.conflict.conflict_success; "
                   "used rrmbook.traffic.queue_step"),
        # 2 GiB of address space is within the limit (4 GiB per process): no violation (only
        # 256 MiB are touched: filling 2 GiB takes this machine longer than a cell's time)
        "memory2": ("handout", "import numpy as np\nblock = np.empty(2 << 30, np.uint8)\n"
                    "block[: 256 << 20 : 4096] = 1", "ok"),
        "memory30": ("handout", "import numpy as np\nx = np.ones(30 << 30, dtype=np.uint8)",
                     "sandbox violation: hit the memory limit"),
        "detached": ("handout", sleeper, "sandbox violation: started a process"),
        "network": ("handout", "import socket\ns = socket.socket()\ntry:\n"
                    "    s.connect(('127.0.0.1', 8888))\nexcept OSError:\n    pass",
                    "sandbox violation: used the network"),
        # the instructor's environment, shown in the student's own feedback
        "environ": ("handout", "import os\nraise RuntimeError('ENV ' + repr(dict(os.environ)))", "ok"),
        "home": ("handout", f"open({str(paths['home'] / 'evil.txt')!r}, 'w').write('x')",
                 "sandbox violation: wrote outside its folder"),
        "rmtree": ("handout", f"import shutil\nshutil.rmtree({str(paths['out'])!r})",
                   "sandbox violation: changed files outside its folder"),
        "forkbomb": ("handout", f"import os, time\nwhile True:\n    if os.fork() == 0:\n"
                     f"        time.sleep(600)  # {MARKER}", "sandbox violation: started a process; "
                     "hit the process limit"),
        "sigint": ("solved", "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                   "signal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
                   "signal.signal(signal.SIGPROF, signal.SIG_IGN)\nwhile True:\n    pass",
                   "timed out: cell"),
    }


def _checksums(*folders: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for folder in folders for p in sorted(folder.rglob("*")) if p.is_file()}


def _marked_processes() -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if MARKER.encode() in (proc / "cmdline").read_bytes():
                    found.append(proc.name)
            except OSError:
                pass
    return found


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade the folder of attacks; return what the tests check."""
    tmp = tmp_path_factory.mktemp("attacks")
    subs, out, home = tmp / "submissions", tmp / "out", tmp / "home"
    for d in (subs, home):
        d.mkdir()
    (home / "notes.txt").write_text("the instructor's own file")
    solved = nbformat.read(build_autograder(SOLUTION, tmp / "ag").notebook, as_version=4)
    bases = {"handout": nbformat.read(HANDOUT, as_version=4), "solved": solved}
    folder = out / NAME
    paths = {"test": folder / "autograder" / "tests" / "q1.py", "victim": subs / "zz_honest.ipynb",
             "csv": folder / "grades.csv", "home": home, "out": out}
    attacks = _attacks(paths)
    for name, (base, cell, _) in attacks.items():
        nb = nbformat.from_dict(bases[base])
        nb.cells.append(nbformat.v4.new_code_cell(cell))
        nbformat.write(nb, subs / f"{name}.ipynb")
    for honest in ("aa_honest", "zz_honest"):              # graded first and last
        nbformat.write(solved, subs / f"{honest}.ipynb")
    instructor = (ROOT / "solutions", ROOT / "exercises", home, subs)
    before = _checksums(*instructor)
    saved = {k: os.environ.get(k) for k in ("HOME", "INSTRUCTOR_TOKEN")}
    os.environ.update(HOME=str(home), INSTRUCTOR_TOKEN=SECRET)
    try:
        start = time.perf_counter()
        csv_path = grade_submissions(subs, out, ROOT / "solutions", NAME, TIMEOUT, workers=2)
        seconds = time.perf_counter() - start
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    graded_csv = csv_path.read_text()
    time.sleep(3)           # the "csv" attack's process would have rewritten grades.csv by now
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    rows.pop("points possible")
    return {"rows": rows, "attacks": attacks, "out": folder, "csv_before": graded_csv,
            "csv_after": csv_path.read_text(), "before": before,
            "after": _checksums(*instructor), "autograder": _checksums(folder / "autograder"),
            "processes": _marked_processes(), "seconds": seconds, "home": home}


def test_every_attack_earns_what_its_honest_work_deserves(graded):
    rows = graded["rows"]
    for name, (base, _, _) in graded["attacks"].items():
        assert float(rows[name]["total"]) == (10 if base == "solved" else 0), (name, rows[name])


def test_every_attack_is_reported_in_the_status_column(graded):
    rows = graded["rows"]
    wrong = {name: rows[name]["status"] for name, (_, _, status) in graded["attacks"].items()
             if not rows[name]["status"].startswith(status)}
    assert not wrong


def test_honest_students_graded_before_and_after_keep_full_marks(graded):
    for honest in ("aa_honest", "zz_honest"):
        assert graded["rows"][honest]["total"] == "10" and graded["rows"][honest]["status"] == "ok"


def test_no_instructor_file_changed_and_grades_csv_stays_as_written(graded):
    assert graded["after"] == graded["before"]          # solutions, exercises, $HOME, submissions
    assert graded["csv_after"] == graded["csv_before"]
    assert not (graded["home"] / "evil.txt").exists()
    tests = graded["out"] / "autograder" / "tests" / "q1.py"
    assert "def test_q1(success):\n    pass" not in tests.read_text()


def test_no_process_is_left_behind(graded):
    assert graded["processes"] == []


def test_feedback_shows_no_hidden_test_solution_or_secret(graded):
    for name in graded["attacks"]:
        text = (graded["out"] / "feedback" / f"{name}.md").read_text()
        assert "def test_q" not in text and "BEGIN SOLUTION" not in text, name
        assert SECRET not in text and "INSTRUCTOR_TOKEN" not in text, name
    snoop = (graded["out"] / "feedback" / "snoop.md").read_text()
    assert "FileNotFoundError" in snoop                  # the hidden tests are not there
    environ = (graded["out"] / "feedback" / "environ.md").read_text()
    assert "ENV {" in environ and "'HOME': '/sandbox'" in environ


def test_an_attack_on_a_solved_notebook_changes_no_score(tmp_path):
    autograder = build_autograder(SOLUTION, tmp_path / "ag")
    nb = nbformat.read(autograder.notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(_attacks({k: tmp_path for k in
                                                        ("test", "victim", "csv", "home", "out")})
                                              ["numpy"][1]))
    nbformat.write(nb, tmp_path / "both.ipynb")
    result = grade_notebook(tmp_path / "both.ipynb", autograder, timeout_per_cell=60)
    assert result.total == 10 and result.status.startswith("sandbox violation: replaced")


def test_a_function_that_never_returns_costs_its_question_only(tmp_path):
    autograder = build_autograder(SOLUTION, tmp_path / "ag")
    nb = nbformat.read(autograder.notebook, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("def gms(queues, exclusion):\n    while True:\n        pass"))
    nbformat.write(nb, tmp_path / "loop.ipynb")
    result = grade_notebook(tmp_path / "loop.ipynb", autograder, timeout_per_cell=3)
    assert result.questions["q1"].score == 4 and result.questions["q3"].score == 2
    assert result.questions["q2"].score == 0
    assert any("did not finish within 3 s of CPU time" in c.message
               for c in result.questions["q2"].cases)
    assert result.questions["q2"].timed_out and result.status == "timed out: q2"


def test_importing_the_library_answer_earns_nothing_but_the_rest_of_the_library_works(tmp_path):
    autograder = build_autograder(SOLUTION, tmp_path / "ag")
    nb = nbformat.read(HANDOUT, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "from rrmbook.conflict import conflict_success as success\n"
        "import rrmbook.conflict\n"
        "assert rrmbook.conflict.paper_cg8() is not None   # the rest of the library works"))
    nbformat.write(nb, tmp_path / "borrowed.ipynb")
    result = grade_notebook(tmp_path / "borrowed.ipynb", autograder, timeout_per_cell=60)
    assert result.questions["q1"].score == 0
    assert "rrmbook.conflict.conflict_success" in result.questions["q1"].error
    messages = " ".join(c.message for c in result.questions["q1"].cases)
    assert "rrmbook.conflict.conflict_success is not available while your work is graded" in messages
    assert result.status == "sandbox violation: used rrmbook.conflict.conflict_success"


def test_every_protected_function_exists_and_is_redacted(tmp_path):
    import importlib

    from rrmbook.teaching.protect import PROTECTED, redacted_package

    names = tuple(n for names in PROTECTED.values() for n in names)
    for dotted in names:                       # each names a real function of the library
        module, function = dotted.rsplit(".", 1)
        assert callable(getattr(importlib.import_module(module), function)), dotted
    copy = redacted_package(names, tmp_path)
    text = (copy / "pf.py").read_text()
    assert "refuse('rrmbook.pf.top_n')" in text and "def top_n(" in text
    assert (copy / "conflict.py").read_text().count(".refuse(") == 1
    with pytest.raises(ValueError, match="no function"):
        redacted_package(("rrmbook.pf.no_such_function",), tmp_path / "again")


@pytest.mark.parametrize("isolation", ["kernel", "sandbox"])
def test_a_function_that_modifies_its_input_is_told_so(tmp_path, isolation):
    autograder = build_autograder(SOLUTION, tmp_path / "ag")
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(
        "import numpy as np\n"
        "def queue_update(q_prev, arrivals, service):\n"
        "    q_prev += arrivals\n"
        "    np.maximum(q_prev - service, 0, out=q_prev)\n"
        "    return q_prev"))
    nbformat.write(nb, tmp_path / "mutates.ipynb")
    q3 = grade_notebook(tmp_path / "mutates.ipynb", autograder, timeout_per_cell=60,
                        isolation=isolation).questions["q3"]
    failed = [c for c in q3.cases if not c.passed]
    assert [c.name for c in failed] == ["test_q3_matches_reference"]
    assert "must not modify its inputs" in failed[0].message


def test_two_workers_match_one_and_feedback_hides_hidden_details(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(SOLUTION, subs / "good.ipynb")
    shutil.copy(HANDOUT, subs / "stub.ipynb")
    nb = nbformat.read(SOLUTION, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("def gms(queues, exclusion):\n    return queues > 100"))
    nbformat.write(nb, subs / "wrong_q2.ipynb")
    texts = {}
    for workers, hidden in ((1, False), (2, True)):
        csv_path = grade_submissions(subs, tmp_path / f"out{workers}", ROOT / "solutions", NAME,
                                     60.0, workers=workers, show_hidden=hidden)
        texts[workers] = (csv_path.read_text(), (csv_path.parent / "feedback" / "wrong_q2.md").read_text())
    assert texts[1][0] == texts[2][0]                   # the same grades.csv
    assert "good,good.ipynb,4,4,2,10,ok" in texts[1][0]
    assert "stub,stub.ipynb,0,0,0,0,unchanged from the handout" in texts[1][0]
    hidden_off, hidden_on = texts[1][1], texts[2][1]
    assert "FAILED: hidden test (1 pt)" in hidden_off and "test_q2_matches_reference" not in hidden_off
    assert "FAILED: hidden test `test_q2_matches_reference`" in hidden_on
    with pytest.raises(ValueError, match="workers"):
        grade_submissions(subs, tmp_path / "x", ROOT / "solutions", NAME, workers=2, isolation="kernel")


def test_an_earlier_grading_is_never_replaced_silently(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    shutil.copy(HANDOUT, subs / "stub.ipynb")
    first = grade_submissions(subs, tmp_path / "out", ROOT / "solutions", NAME, 60.0)
    assert first == tmp_path / "out" / NAME / "grades.csv"
    (first.parent / "feedback" / "stale.md").write_text("from an earlier run")
    with pytest.raises(ValueError, match="already holds a grading of ch03_exercises"):
        grade_submissions(subs, tmp_path / "out", ROOT / "solutions", NAME, 60.0)
    assert (first.parent / "feedback" / "stale.md").exists()         # nothing was touched
    other = grade_submissions(subs, tmp_path / "out", ROOT / "solutions", "ch04_exercises", 60.0)
    assert other.parent.name == "ch04_exercises" and first.is_file()   # one folder each
    again = grade_submissions(subs, tmp_path / "out", ROOT / "solutions", NAME, 60.0, overwrite=True)
    assert again == first and not (first.parent / "feedback" / "stale.md").exists()
