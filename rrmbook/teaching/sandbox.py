"""Running untrusted code, such as a student's notebook, in a throw-away sandbox (issue 15).

The mechanism is bubblewrap (``bwrap``, Debian package ``bubblewrap``), which works for an
unprivileged user through user namespaces.  A sandboxed command:

- runs in new user, PID, network, IPC, UTS and cgroup namespaces: no network at all (not
  even the host's loopback), no view of other processes, and every process it starts,
  detached or not, dies with the sandbox (the kernel kills a PID namespace's members when
  its first process exits, and ``--die-with-parent`` ends that one with the grader's);
- sees a file system made of read-only views of the Python installation, the virtual
  environment, the ``rrmbook`` package and the system libraries, an empty ``/tmp``, and one
  writable folder, ``/sandbox``, which is a *copy* prepared by the caller: nothing of the
  instructor's (home, solutions, hidden tests, other submissions, output folder) exists
  inside, and nothing else is writable;
- starts with an empty environment (``HOME=/sandbox``), so no instructor variable leaks in,
  and with one thread per numerical library, so its CPU time is its wall time;
- has per-process limits (:class:`Limits`): CPU seconds (``RLIMIT_CPU``), address space
  (``RLIMIT_AS``), processes (``RLIMIT_NPROC``) and file size (``RLIMIT_FSIZE``), and a
  wall-clock limit enforced from outside.

``RLIMIT_NPROC`` is set inside the sandbox, where it counts only the sandbox's processes
(Linux >= 5.14), and it does not bind root, so a grader running as root starts the sandbox as
the unprivileged user ``nobody`` (uid 65534).  What is *not* protected: the memory limit is per
process (up to ``processes`` x ``memory_bytes`` in all), and a sandbox can use all cores
until its CPU limit; a cgroup would bound both, but needs privileges most instructors lack.
"""

from __future__ import annotations

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import checks

__all__ = ["Limits", "Sandbox", "SandboxResult", "SandboxUnavailable", "sandbox_available", "sandbox_argv",
           "run_sandboxed", "readonly_paths", "NOBODY", "WORKDIR"]

#: where the writable folder appears inside a sandbox (its working directory and HOME)
WORKDIR = "/sandbox"
#: the user a root grader runs sandboxes as (RLIMIT_NPROC does not bind root)
NOBODY = 65534
#: system folders every sandbox sees, read-only, where they exist
SYSTEM_PATHS = ("/usr", "/lib", "/lib64", "/bin", "/etc/alternatives", "/etc/ld.so.cache",
                "/etc/localtime")


#: variables that make NumPy's, PyTorch's and BLAS's thread pools use one thread
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class SandboxUnavailable(RuntimeError):
    """No sandbox can be started on this machine (the message says why)."""


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use.

    Attributes
    ----------
    cpu_seconds : CPU time of each process (``RLIMIT_CPU``; the kernel kills it beyond).
    memory_bytes : address space of each process (``RLIMIT_AS``; allocations beyond fail).
    processes : processes the sandbox user may have at once (``RLIMIT_NPROC``).
    file_bytes : the largest file a process may write (``RLIMIT_FSIZE``).
    wall_seconds : the whole run, measured outside; the sandbox is killed after it.
    """

    cpu_seconds: int = 300
    memory_bytes: int = 4 << 30
    processes: int = 32
    file_bytes: int = 256 << 20
    wall_seconds: float = 900.0

    def __post_init__(self) -> None:
        for name in ("cpu_seconds", "memory_bytes", "processes", "file_bytes"):
            checks.positive_int(name, getattr(self, name))
        if not self.wall_seconds > 0:
            raise ValueError(f"wall_seconds must be > 0, got {self.wall_seconds!r}")

    def apply(self) -> None:
        """Set the per-process limits on the calling process (run in the child before
        ``exec``).  The process limit is set inside the sandbox instead (:data:`_SHIM`)."""
        for res, value in ((resource.RLIMIT_CPU, self.cpu_seconds),
                           (resource.RLIMIT_AS, self.memory_bytes),
                           (resource.RLIMIT_FSIZE, self.file_bytes),
                           (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(res, (value, value))


#: run first inside the sandbox: set ``RLIMIT_NPROC`` there, then become the command.  Set
#: inside the sandbox's user namespace, the limit counts the sandbox's own processes only
#: (Linux >= 5.14 counts them per user namespace): the instructor's processes, and those of
#: other sandboxes graded at the same time, neither use it up nor are limited by it.
_SHIM = ("import os, resource, sys; n = int(sys.argv[1]); "
         "resource.setrlimit(resource.RLIMIT_NPROC, (n, n)); os.execv(sys.argv[2], sys.argv[2:])")


@dataclass(frozen=True)
class SandboxResult:
    """How a sandboxed command ended: its exit code (negative: killed by that signal),
    its output, whether the wall-clock limit stopped it, and its wall time."""

    returncode: int
    stdout: str
    stderr: str
    timed_out: bool
    wall_s: float


def readonly_paths() -> list[Path]:
    """What a sandboxed Python needs to see: the system folders, the Python installation,
    the virtual environment and the ``rrmbook`` package (its folder only, so an editable
    install does not expose the repository around it)."""
    import rrmbook

    paths = [Path(p) for p in SYSTEM_PATHS]
    paths += [Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
              Path(rrmbook.__file__).resolve().parent]
    out: list[Path] = []
    for p in paths:
        if p.exists() and not any(p == q or q in p.parents for q in out):
            out = [q for q in out if p not in q.parents] + [p]
    return out


def _sandbox_user() -> tuple[int, int] | None:
    """(uid, gid) to drop to before starting bwrap, or None to stay who we are."""
    return (NOBODY, NOBODY) if os.geteuid() == 0 else None


def sandbox_argv(command: Sequence[str], workdir: str | Path,
                 readonly: Sequence[str | Path] | None = None,
                 overlays: dict[str, str | Path] | None = None,
                 processes: int = Limits.processes) -> list[str]:
    """The ``bwrap`` command line that runs ``command`` in a sandbox whose only writable
    folder is ``workdir``, seen inside as :data:`WORKDIR` (the working directory), with
    at most ``processes`` processes.  ``command[0]`` must be a path seen inside.
    ``overlays`` maps a path seen inside to a folder shown there instead, read-only (the
    grader's redacted copy of the package, :mod:`rrmbook.teaching.protect`)."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable("bubblewrap is not installed (Debian/Ubuntu: "
                                 "`apt-get install bubblewrap`)")
    argv = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--cap-drop", "ALL", "--hostname", "sandbox",
            # the empty /tmp first: a read-only view below it (a clone in /tmp) stays visible
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for p in (readonly_paths() if readonly is None else [Path(p) for p in readonly]):
        argv += ["--ro-bind", str(p), str(p)]
    for inside, outside in (overlays or {}).items():
        argv += ["--ro-bind", str(Path(outside).resolve()), str(inside)]
    python_bin = str(Path(sys.executable).parent)
    argv += ["--bind", str(Path(workdir).resolve()), WORKDIR, "--chdir", WORKDIR,
             "--clearenv", "--setenv", "HOME", WORKDIR, "--setenv", "TMPDIR", "/tmp",
             "--setenv", "PATH", f"{python_bin}:/usr/bin:/bin",
             "--setenv", "MPLBACKEND", "Agg", "--setenv", "PYTHONDONTWRITEBYTECODE", "1"]
    for var in THREAD_VARIABLES:          # one thread each: CPU time is then wall time
        argv += ["--setenv", var, "1"]
    # the folders bwrap made for its mount points stay, read-only: /sandbox and /tmp are
    # the only places a sandbox can write
    argv += ["--remount-ro", "/", "--", sys.executable, "-I", "-S", "-c", _SHIM,
             str(int(processes))]
    return argv + [str(c) for c in command]


@functools.lru_cache(maxsize=1)
def sandbox_available() -> str | None:
    """``None`` if a sandbox starts on this machine, else the reason it does not."""
    try:
        res = run_sandboxed([sys.executable, "-c", "print('ok')"],
                            limits=Limits(cpu_seconds=30, wall_seconds=60))
    except SandboxUnavailable as exc:
        return str(exc)
    if res.returncode != 0 or res.stdout.strip() != "ok":
        return f"bwrap could not start a sandbox: {res.stderr.strip()[-300:] or res.returncode}"
    return None


def run_sandboxed(command: Sequence[str], files: str | Path | None = None,
                  limits: Limits | None = None, input: str | None = None) -> SandboxResult:
    """Run ``command`` in a sandbox (:class:`Sandbox`) with ``limits`` to its end.  Its
    writable folder is a fresh private copy of the folder ``files`` (empty if None), deleted
    afterwards; ``input`` goes to its standard input.  Never leaves a process behind: on the
    wall-clock limit, or when this function returns, the sandbox is killed as a whole."""
    limits = limits or Limits()
    start = time.perf_counter()
    timed_out = False
    with Sandbox(command, files, limits, capture_stderr=True) as box:
        data = input.encode() if input is not None else None
        try:
            out, err = box.proc.communicate(data, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            _kill(box.proc)
            out, err = box.proc.communicate()
        code = box.proc.returncode
    return SandboxResult(code, out.decode(errors="replace"), err.decode(errors="replace"),
                         timed_out, time.perf_counter() - start)


class Sandbox:
    """A sandboxed command to talk to, one line at a time (the grader's worker)::

        with Sandbox([python, "-m", "rrmbook.teaching.worker", "nb.ipynb"], folder) as box:
            box.write_line(request)
            answer = box.read_line(timeout=30)

    The private copy of ``files`` and every process are gone after the ``with`` block, and
    after ``limits.wall_seconds`` whatever happens."""

    def __init__(self, command: Sequence[str], files: str | Path | None = None,
                 limits: Limits | None = None,
                 overlays: dict[str, str | Path] | None = None,
                 capture_stderr: bool = False) -> None:
        self.command, self.files, self.overlays = list(command), files, overlays
        self.capture_stderr = capture_stderr
        self.limits = limits or Limits()
        self.proc: subprocess.Popen | None = None
        self.workdir: Path | None = None
        self._buffer = b""
        self._deadline = 0.0

    def __enter__(self) -> Sandbox:
        import tempfile

        user = _sandbox_user()
        self.workdir = Path(tempfile.mkdtemp(prefix="rrmbook-sandbox-"))
        try:
            if self.files is not None:
                shutil.copytree(self.files, self.workdir, dirs_exist_ok=True, symlinks=False)
            if user is not None:
                for path in [self.workdir, *self.workdir.rglob("*")]:
                    os.chown(path, *user, follow_symlinks=False)
            self.proc = subprocess.Popen(
                sandbox_argv(self.command, self.workdir, overlays=self.overlays,
                             processes=self.limits.processes),
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if self.capture_stderr else subprocess.DEVNULL,
                preexec_fn=self.limits.apply,
                start_new_session=True, close_fds=True, user=user[0] if user else None,
                group=user[1] if user else None, extra_groups=[] if user else None,
                env={"PATH": "/usr/bin:/bin"})
        except BaseException:
            self.close()
            raise
        self._deadline = time.monotonic() + self.limits.wall_seconds
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Kill everything the sandbox started and delete its folder."""
        if self.proc is not None:
            _kill(self.proc)
            for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    with contextlib.suppress(OSError):
                        stream.close()
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def alive(self) -> bool:
        """Whether the sandboxed command is still running."""
        return self.proc is not None and self.proc.poll() is None

    def write_line(self, line: str) -> None:
        """Send one line (``BrokenPipeError`` is swallowed: :meth:`read_line` then says
        that no answer came)."""
        with contextlib.suppress(BrokenPipeError, OSError):
            self.proc.stdin.write(line.encode() + b"\n")
            self.proc.stdin.flush()

    def read_line(self, timeout: float, max_bytes: int = 1 << 20) -> str | None:
        """The next line the command printed, or None if none came within ``timeout``
        seconds (or before the wall-clock limit), the line grew beyond ``max_bytes``, or the
        command ended; in those cases the sandbox is killed."""
        import select

        end = min(time.monotonic() + timeout, self._deadline)
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = end - time.monotonic()
            if left <= 0 or len(self._buffer) > max_bytes:
                _kill(self.proc)
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    _kill(self.proc)
                    return None
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode("utf-8", errors="replace")


def _kill(proc: subprocess.Popen) -> None:
    """Kill the sandbox's process group (bwrap and its PID namespace's first process; the
    kernel then kills everything else in the namespace)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
