"""The sandbox that untrusted code runs in (issue 15): what a submission may not see, reach
or leave behind, tried the way a student who wants a better grade would."""

from __future__ import annotations

import ast
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest

from rrmbook.teaching.sandbox import Limits, run_sandboxed, sandbox_argv, sandbox_available

# skipped only where bubblewrap is not installed: where it is, a sandbox that does not
# start is a failure, not a reason to skip
pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None, reason="bubblewrap is not installed")


@pytest.fixture()
def workdir(tmp_path):
    d = tmp_path / "submission"
    d.mkdir()
    (d / "handed_in.txt").write_text("my work")
    return d


def run(code: str, workdir, limits: Limits | None = None):
    return run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], workdir,
                         limits or Limits(cpu_seconds=60, wall_seconds=120))


def test_the_instructors_files_environment_and_home_are_not_there(tmp_path, workdir, monkeypatch):
    secret = tmp_path / "solutions" / "answer.txt"
    secret.parent.mkdir()
    secret.write_text("42")
    monkeypatch.setenv("INSTRUCTOR_TOKEN", "s3cret")
    res = run(f"""
        import os, pathlib
        print(pathlib.Path({str(secret)!r}).exists(), pathlib.Path({str(tmp_path)!r}).exists())
        print("INSTRUCTOR_TOKEN" in os.environ, os.environ["HOME"])
        print(sorted(os.listdir("/")))
        pathlib.Path(os.environ["HOME"], "note.txt").write_text("mine")
        print(sorted(os.listdir(".")), open("handed_in.txt").read())
        """, workdir)
    lines = res.stdout.splitlines()
    assert res.returncode == 0, res.stderr
    assert lines[0] == "False False" and lines[1] == "False /sandbox"
    assert "home" not in lines[2] and "sandbox" in lines[2]
    assert lines[3] == "['handed_in.txt', 'note.txt'] my work"   # a copy of the submission
    assert sorted(p.name for p in workdir.iterdir()) == ["handed_in.txt"]   # the original unchanged
    assert secret.read_text() == "42"


def test_the_package_is_visible_but_not_the_repository_around_it(workdir):
    import rrmbook

    repo = os.path.dirname(os.path.dirname(rrmbook.__file__))
    res = run(f"""
        import os, rrmbook
        print(sorted(os.listdir({repo!r})))
        """, workdir)
    assert res.returncode == 0, res.stderr
    seen = set(ast.literal_eval(res.stdout))     # a printed list of names
    assert "rrmbook" in seen and seen <= {"rrmbook", ".venv"}   # no solutions/, exercises/, ...


def test_no_network_not_even_the_hosts_loopback(workdir):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        res = run(f"""
            import socket
            for host in (("127.0.0.1", {port}), ("1.1.1.1", 53)):
                try:
                    socket.create_connection(host, timeout=2)
                    print("connected")
                except OSError as exc:
                    print(type(exc).__name__)
            """, workdir)
    finally:
        server.close()
    assert res.returncode == 0, res.stderr
    assert "connected" not in res.stdout and len(res.stdout.split()) == 2


def test_a_fork_bomb_hits_the_process_limit(workdir):
    res = run("""
        import os, time
        n = 0
        try:
            for _ in range(500):
                if os.fork() == 0:
                    time.sleep(30)
                    os._exit(0)
                n += 1
        except OSError:
            pass
        print(n)
        """, workdir, Limits(processes=16, cpu_seconds=60, wall_seconds=120))
    assert res.returncode == 0, res.stderr
    assert int(res.stdout) < 16


def test_the_process_limit_counts_each_sandboxs_own_processes(tmp_path, workdir):
    """Another sandbox holding most of its processes, and many processes of the user the
    sandboxes run as, leave a sandbox its whole allowance (the limit is per user
    namespace), so one submission's fork bomb cannot stop another's grading."""
    from rrmbook.teaching.sandbox import Sandbox, _sandbox_user

    user = _sandbox_user()
    others = [subprocess.Popen(["sleep", "60"], user=user[0] if user else None,
                               group=user[1] if user else None) for _ in range(20)]
    holder = ("import os, sys, time\nfor _ in range(13):\n    if os.fork() == 0:\n"
              "        time.sleep(60)\n        os._exit(0)\nprint('holding', flush=True)\n"
              "time.sleep(60)")
    try:
        with Sandbox([sys.executable, "-c", holder], workdir,
                     Limits(processes=16, cpu_seconds=60, wall_seconds=120)) as box:
            assert box.read_line(timeout=60) == "holding"
            res = run("""
                import os, time
                n = 0
                for _ in range(10):
                    if os.fork() == 0:
                        time.sleep(5)
                        os._exit(0)
                    n += 1
                print(n)
                """, tmp_path, Limits(processes=16, cpu_seconds=60, wall_seconds=120))
    finally:
        for p in others:
            p.kill()
            p.wait()
    assert res.returncode == 0 and res.stdout.strip() == "10", res.stderr


def test_a_huge_allocation_is_stopped_by_the_memory_limit(workdir):
    res = run("""
        try:
            block = bytearray(30 << 30)
            print("allocated")
        except MemoryError:
            print("MemoryError")
        """, workdir, Limits(memory_bytes=2 << 30, wall_seconds=120))
    assert res.stdout.strip() == "MemoryError"


def test_a_loop_that_ignores_sigint_is_stopped_by_the_cpu_limit(workdir):
    res = run("""
        import signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGXCPU, signal.SIG_IGN)
        while True:
            pass
        """, workdir, Limits(cpu_seconds=3, wall_seconds=300))
    assert not res.timed_out and res.returncode != 0


def test_the_wall_clock_limit_stops_a_sleeper(workdir):
    res = run("import time; time.sleep(600)", workdir, Limits(wall_seconds=3))
    assert res.timed_out and res.wall_s < 60


def _alive(marker: str) -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if marker in line and "ps -eo" not in line]


def test_detached_processes_die_with_the_sandbox(workdir):
    marker = f"detached-{uuid.uuid4().hex[:8]}"
    res = run(f"""
        import subprocess, sys
        for _ in range(3):
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}],
                             start_new_session=True, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print("started")
        """, workdir)
    assert res.stdout.strip() == "started", res.stderr
    deadline = time.time() + 10
    while _alive(marker) and time.time() < deadline:
        time.sleep(0.2)
    assert _alive(marker) == []


def test_a_sandbox_starts_here():
    assert sandbox_available() is None


def test_the_command_line_names_every_isolation_flag(workdir):
    argv = sandbox_argv(["true"], workdir)
    assert argv[argv.index("--bind") + 2] == "/sandbox"
    for flag in ("--unshare-all", "--die-with-parent", "--new-session", "--clearenv"):
        assert flag in argv
    assert argv[-1] == "true" and "--remount-ro" in argv
    assert "RLIMIT_NPROC" in argv[argv.index("--") + 5]     # set inside, by the shim
    with pytest.raises(ValueError, match="processes"):
        Limits(processes=0)
