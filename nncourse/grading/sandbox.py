"""The one place where a grading kernel is launched: rlimits, a bubblewrap sandbox, a boot.

A grading kernel's command is ``limits`` (memory and CPU rlimits of ``course_config``), then
``bwrap`` (when available), then ``python <bundle>/nncourse_kernel_boot.py -f <conn>``.

Inside the sandbox the whole file system is read-only; ``/tmp`` is an empty tmpfs; the course
directory (source notebooks, ``reference/``, ``autograders/``, the gradebook, every student's
submission) and the checkout nncourse runs from are hidden behind empty tmpfs mounts; the
network is a private, empty namespace.  Re-bound on top, and nothing else:

- the venv, read-only, if it lives inside a hidden directory;
- the student's own autograded working copy, read-write (nbgrader made it; it is a copy);
- the MNIST folders of ``course_config`` (read-only);
- the grading *bundle*: a per-process copy of ``autograders/``, ``reference/`` and
  ``course_config.py`` that the hidden tests import, read-only (``BUNDLE_MOUNT``);
- a per-kernel folder for the connection file and the ``ipc`` sockets (TCP cannot cross
  ``--unshare-net``).

No ``--unshare-pid``: ipykernel's parent poller would see ppid 1 and exit.

Where bwrap is missing or does not work (``available()``), kernels run with the rlimits only
and ``grade`` prints a loud warning (``SANDBOX_WARNING``) in its summary and report.

Residual risk, honestly: the hidden tests run *in the same process* as the student's code, so
the bundle (the reference solutions) is in reach of the sandbox; bwrap protects the course
files, the gradebook, other students and the network, not the bundle.  The bundle is guarded
inside the kernel by the audit hook of ``kernel_boot.py`` (``NNCOURSE_GUARD=1``, set here for
sandboxed kernels only): reading or importing it outside a hidden-test region is blocked and
flagged in the report.  That guard is in-process Python, an arms race against determined
introspection (see ``kernel_boot.py`` for what is and is not covered).  Without bwrap there
is no guard either (the student could read the course directory directly): today's
behaviour, with ``SANDBOX_WARNING``.
"""
import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

# environment of every grading kernel: one BLAS thread (same floating-point results whatever
# --jobs is, and N jobs use N cores), no GUI backend for matplotlib
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "Agg", "PYTHONHASHSEED": "0"}
BUNDLE_MOUNT = "/tmp/nncourse-boot"       # where the boot folder appears inside the sandbox
BOOT = "kernel_boot.py"                   # the kernel's main script, in the boot folder
SANDBOX_WARNING = ("WARNING: NO SANDBOX. bubblewrap (bwrap) is not available, so student code "
                   "ran with only memory/CPU limits: it could read the course files, the hidden "
                   "tests, reference/, the gradebook and other submissions, and reach the network. "
                   "Install it (apt-get install bubblewrap) and grade again.")

_STATE = {"prefix": [], "bwrap": None, "bundle": None, "hidden": [], "binds": [], "env": {}}


def available():
    """True when ``bwrap`` exists and can build our sandbox here (probed once per process).

    ``NNCOURSE_NO_SANDBOX=1`` in the environment turns the sandbox off (tests, debugging)."""
    return not os.environ.get("NNCOURSE_NO_SANDBOX") and _probe(shutil.which("bwrap"))


@functools.lru_cache(maxsize=None)
def _probe(exe):
    if exe is None:
        return False
    try:
        proc = subprocess.run([exe, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--tmpfs", "/tmp", "--unshare-net", "--die-with-parent",
                               "--new-session", "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return proc.returncode == 0


def limits_prefix(course):
    """``python -m nncourse.grading.limits ... --``: the rlimits of ``course_config``."""
    return [sys.executable, "-m", "nncourse.grading.limits",
            "--as-mib", str(course.setting("KERNEL_MEMORY_MIB", 0)),
            "--cpu-s", str(course.setting("KERNEL_CPU_S", 0)), "--"]


def kernel_command_prefix(course):
    """The argv prefix (rlimits) that wraps a grading kernel of ``course``."""
    return limits_prefix(course)


def hidden_dirs(course):
    """Directories the student's code must not see: the course and nncourse's checkout."""
    dirs = {course.root.resolve()}
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "reference").is_dir() or (checkout / "autograders").is_dir():
        dirs.add(checkout)
    return sorted(dirs, key=lambda p: len(p.parts))


def _inside(path, dirs):
    return any(path == d or d in path.parents for d in dirs)


def bwrap_args(workdir, kerneldir, hidden, binds, bundle, env):
    """The bwrap argv (without the kernel command) for one kernel."""
    args = [shutil.which("bwrap"), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for d in hidden:
        args += ["--tmpfs", str(d)]
    for src in binds:                                    # read-only re-binds (venv, MNIST)
        args += ["--ro-bind", str(src), str(src)]
    args += ["--ro-bind", str(bundle), BUNDLE_MOUNT,
             "--bind", str(kerneldir), str(kerneldir)]
    if workdir:
        args += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args + ["--unshare-net", "--die-with-parent", "--new-session"]


BOOT_FILES = ("kernel_boot.py", "wire.py")     # from nncourse/grading/, beside the test functions


def make_boot(course):
    """The kernel's boot folder: its main script, the wire format and the course's public
    test functions.  Nothing secret: no check, no reference, no expected value."""
    boot = Path(tempfile.mkdtemp(prefix="nncourse-boot-"))
    for name in BOOT_FILES:
        shutil.copy2(Path(__file__).with_name(name), boot / name)
    shutil.copy2(course.root / "autograders" / "testfuncs.py", boot / "testfuncs.py")
    for p in [boot, *boot.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    atexit.register(shutil.rmtree, boot, True)
    return boot


def configure_sandbox(course, sandbox=None):
    """Make kernels started by this process sandboxed and give them the grading env.

    ``sandbox``: None = use bwrap when ``available()``; False = never (rlimits only)."""
    _STATE["prefix"] = kernel_command_prefix(course)
    threads = str(course.setting("KERNEL_THREADS", 1))
    for key, value in KERNEL_ENV.items():
        os.environ[key] = threads if key.endswith("_NUM_THREADS") else value
    # the kernel itself drops output beyond the grader's per-cell cap (kernel_boot.cap_output)
    os.environ["NNCOURSE_MAX_OUTPUT_CHARS"] = str(10 * int(course.setting("MAX_OUTPUT_CHARS", 10_000)))
    use = available() if sandbox is None else bool(sandbox) and available()
    _STATE["bwrap"] = use
    _STATE["bundle"] = make_boot(course)
    hidden = hidden_dirs(course)
    _STATE["hidden"] = hidden
    binds = []
    prefix = Path(sys.prefix).resolve()
    if _inside(prefix, hidden):
        binds.append(prefix)
    for key in ("MNIST_CACHE_DIR", "MNIST_DIR"):
        value = course.setting(key, "")
        if value and Path(value).is_dir():
            binds.append(Path(value).resolve())
    _STATE["binds"] = binds
    mnist = {"NNCOURSE_MNIST_CACHE": str(course.setting("MNIST_CACHE_DIR", "") or ""),
             "NNCOURSE_MNIST_DIR": str(course.setting("MNIST_DIR", "") or "")}
    _STATE["env"] = {"HOME": "/tmp/home", "IPYTHONDIR": "/tmp/home/.ipython",
                     "MPLCONFIGDIR": "/tmp/home/.mpl", "JUPYTER_RUNTIME_DIR": "/tmp/home/rt",
                     "PYTHONPATH": "",
                     **{k: v for k, v in mnist.items() if v}}
    return use


def booted():
    """Whether this process's kernels start from the boot script (after configure_sandbox)."""
    return _STATE["bundle"] is not None


def sandboxed():
    """Whether this process's kernels run in bwrap (after ``configure_sandbox``)."""
    return bool(_STATE["bwrap"])


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs under rlimits, in bwrap, from the boot script."""

    _kerneldir = None

    async def _async_pre_start_kernel(self, **kw):
        if _STATE["bundle"] is not None:
            self._kerneldir = Path(tempfile.mkdtemp(prefix="nncourse-k-"))
            if _STATE["bwrap"]:                 # TCP cannot cross --unshare-net
                self.transport = "ipc"
                self.ip = str(self._kerneldir / "k")
            self.connection_file = str(self._kerneldir / "conn.json")
            # interrupt by message: a signal to bwrap does not reach the kernel's new session
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        if _STATE["bundle"] is None:            # configure_sandbox() not called: rlimits only
            return list(_STATE["prefix"]) + cmd
        if "-m" in cmd and cmd[cmd.index("-m") + 1] == "ipykernel_launcher":
            i = cmd.index("-m")
            cmd[i:i + 2] = [str(Path(BUNDLE_MOUNT if _STATE["bwrap"] else _STATE["bundle"]) / BOOT)]
        if not _STATE["bwrap"]:
            return list(_STATE["prefix"]) + cmd
        cwd = self._launch_args.get("cwd")
        return list(_STATE["prefix"]) + bwrap_args(
            cwd, self._kerneldir, _STATE["hidden"], _STATE["binds"], _STATE["bundle"],
            _STATE["env"]) + cmd

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._kerneldir is not None and not restart:
            shutil.rmtree(self._kerneldir, ignore_errors=True)
