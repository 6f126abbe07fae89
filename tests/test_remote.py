"""Hidden tests that run in the trusted process against a student's functions in a sandbox
(issue 15): plain data across the wall, and attacks that used to change grades."""

from __future__ import annotations

import inspect
import shutil
import sys
import time

import nbformat
import numpy as np
import pytest

from rrmbook.teaching.remote import RemoteError, Worker, decode, encode, worker_command
from rrmbook.teaching.sandbox import Limits, Sandbox

needs_sandbox = pytest.mark.skipif(shutil.which("bwrap") is None,
                                   reason="bubblewrap is not installed")


def test_plain_data_round_trips_and_nothing_else_crosses():
    value = {"a": np.arange(6, dtype=np.int16).reshape(2, 3), "b": (1, 2.5, None, True),
             "c": [np.float32(1.5), "text", np.bool_(True)], "d": np.zeros((0, 4))}
    back = decode(encode(value))
    assert back["a"].dtype == np.int16 and np.array_equal(back["a"], value["a"])
    assert back["b"] == (1, 2.5, None, True) and isinstance(back["b"], tuple)
    assert back["c"][0] == np.float32(1.5) and isinstance(back["c"][0], np.float32)
    assert back["d"].shape == (0, 4)
    for bad in (np.array([object()]), {1: 2}, {1, 2}, lambda: 0):
        with pytest.raises(TypeError):
            encode(bad)
    with pytest.raises(ValueError):
        decode({"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]})
    with pytest.raises(ValueError):
        decode({"pickle": "..."})


def _notebook(tmp_path, *cells: str):
    folder = tmp_path / "submission"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbformat.write(nb, folder / "submission.ipynb")
    return folder


def _worker(folder, wall=120.0, call_timeout=20.0):
    box = Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                  Limits(wall_seconds=wall))
    return box, call_timeout


@needs_sandbox
def test_the_hidden_tests_of_ch03_pass_on_the_solution_through_the_wall(tmp_path):
    from rrmbook.teaching.assign import build_autograder

    folder = tmp_path / "submission"
    folder.mkdir()
    shutil.copy("solutions/ch03_exercises.ipynb", folder / "submission.ipynb")
    autograder = build_autograder("solutions/ch03_exercises.ipynb", tmp_path / "ag")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=300)) as box:
        worker = Worker(box, call_timeout=60)
        results = []
        for question in autograder.tests:
            for case in autograder.load_test(question).test_cases:
                fn = case.body.test_func
                fn(**{p: worker.function(p) for p in inspect.signature(fn).parameters})
                results.append(fn.__name__)
    assert len(results) == 10


@needs_sandbox
def test_patching_numpy_in_the_submission_changes_no_comparison(tmp_path):
    folder = _notebook(tmp_path, "import numpy as np\n"
                       "np.array_equal = np.allclose = lambda *a, **k: True\n"
                       "def success(schedule, adjacency):\n    return np.zeros(8, dtype=bool)\n"
                       "print('{\"ok\": true, \"result\": null, \"args\": []}')")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=120)) as box:
        worker = Worker(box)
        success = worker.function("success")
        out = success(np.array([1, 0, 1, 0, 0, 1, 0, 0], dtype=bool), np.zeros((8, 8), dtype=bool))
    assert out.dtype == bool and not out.any()                  # the real answer came back
    assert not np.array_equal(out, np.array([1, 0, 1, 0, 0, 1, 0, 0], dtype=bool))


@needs_sandbox
def test_an_input_modified_by_the_student_is_seen_by_the_test(tmp_path):
    folder = _notebook(tmp_path, "import numpy as np\n"
                       "def queue_update(q, a, s):\n    q += a\n    q -= np.minimum(q, s)\n    return q")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=120)) as box:
        worker = Worker(box)
        assert worker.function("missing") is None
        q = np.array([0, 2, 5])
        out = worker.function("queue_update")(q, np.array([1, 0, 3]), np.array([1, 4, 2]))
    assert out.tolist() == [0, 0, 6] and q.tolist() == [0, 0, 6]   # q was changed in place


@needs_sandbox
def test_errors_and_endless_calls_come_back_as_remote_errors(tmp_path):
    folder = _notebook(tmp_path, "def boom(x):\n    raise ValueError('oops ' + str(x))",
                       "def spin(x):\n    while True:\n        pass",
                       "def weird(x):\n    return object()",
                       "1 / 0")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=120)) as box:
        worker = Worker(box, call_timeout=3)
        assert worker.notes == ["cell 4: ZeroDivisionError: division by zero"]
        with pytest.raises(RemoteError, match="ValueError: oops 7"):
            worker.call("boom", 7)
        with pytest.raises(RemoteError, match="object cannot cross"):
            worker.call("weird", 1)
        start = time.monotonic()
        with pytest.raises(RemoteError, match="in time"):
            worker.call("spin", 1)
        assert time.monotonic() - start < 30
        with pytest.raises(RemoteError):                         # the sandbox is gone now
            worker.call("boom", 1)


@needs_sandbox
def test_values_cross_as_plain_data_for_questions_whose_answer_is_a_number(tmp_path):
    folder = _notebook(tmp_path, "import numpy as np\npredicted = [1, 3]\n"
                       "curve = np.arange(3.0)\nthing = object()")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=120)) as box:
        worker = Worker(box, call_timeout=5)
        assert worker.value("predicted") == [1, 3]
        assert np.array_equal(worker.value("curve"), [0.0, 1.0, 2.0])
        assert worker.value("undefined") is None
        with pytest.raises(RemoteError, match="cannot cross"):
            worker.value("thing")


@needs_sandbox
def test_calling_a_function_the_notebook_does_not_define_says_so(tmp_path):
    folder = _notebook(tmp_path, "x = 1")
    with Sandbox(worker_command("submission.ipynb", sys.executable), folder,
                 Limits(wall_seconds=120)) as box:
        worker = Worker(box, call_timeout=5)
        with pytest.raises(RemoteError, match="the notebook defines no function 'gms'"):
            worker.call("gms", 1)
        assert worker.value("x") == 1                      # the worker still answers
