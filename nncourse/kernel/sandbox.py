"""The one place where a grading kernel is launched: rlimits, a bubblewrap sandbox, a boot.

A grading kernel's command is ``limits`` (rlimits of ``course_config``), then ``bwrap`` (when
available), then ``python <boot>/kernel_boot.py -f <conn>``.  The sandbox:

- **unprivileged**: when the grader is root, the kernel runs as a host uid of its own grading
  process (``sandbox_uids``: two of ``SANDBOX_UID`` … ``SANDBOX_UID + SANDBOX_UIDS - 1``, held
  by a lock while the process lives and taken in turn by its kernels, so that
  ``RLIMIT_NPROC``, which counts a uid's processes host-wide, is one kernel's alone: a fork
  bomb cannot starve the kernel graded beside it, nor the one started ahead for the next
  notebook) and
  gid ``SANDBOX_GID`` (65534, nogroup) with no supplementary groups; when the grader is not
  root, as the grader's own uid.  In both cases inside a fresh user
  namespace (``--unshare-user --disable-userns --cap-drop ALL``): no capability, no nested
  namespaces.  Root grading is two bwrap layers: an outer one run by root only builds a mount
  namespace in which what the kernel needs is bound at its own path (so that the unprivileged
  inner bwrap can reach e.g. a venv under a mode-0700 ``/root``), then ``setpriv`` drops to
  the sandbox uid and the inner, unprivileged bwrap builds the kernel's sandbox from that view.
- **its own pid, network, ipc, uts and cgroup namespaces** (``--unshare-all``): no host
  process is visible or killable, no network at all (the kernel talks to the grader over
  ``ipc`` sockets in its kernel dir); every descendant dies with the sandbox's init
  (``--die-with-parent``); ``--new-session``; no ``JPY_PARENT_PID`` (``--clearenv``), so
  ipykernel starts no parent poller (its ppid is bwrap's init).
- **only what it needs, read-only**: ``/usr`` (with the ``/bin /lib /lib64 /sbin`` links), a
  few ``/etc`` files, ``sys.base_prefix``, ``sys.prefix`` (the venv, wherever it lives), the
  directories of the grader's existing ``sys.path`` entries (never the course root,
  nncourse's checkout or an ancestor of them), the MNIST folders and the boot folder
  (``BOOT_MOUNT``).  ``reference``, ``autograders``, ``nncourse``, ``course_config.py``
  found in a bound ``sys.path`` directory, and the course root or checkout if they lie inside
  a bound directory, are masked (empty tmpfs / ``/dev/null``).
- **a size-limited tmpfs** on ``/tmp`` and on its working directory ``WORK_MOUNT``
  (``KERNEL_TMPFS_MIB`` each): the kernel starts there, and the grader copies the host working
  copy (nbgrader's ``autograded/<student>/<aid>/``: regular files and folders, never a link)
  into it through ``/proc/<sandbox pid>/root`` (``fill_workdir``), once the sandbox exists
  and before any cell runs.  So a kernel can be started before its notebook is known
  (``warm.py``), and what it writes stays in its sandbox, never on the host disk.
- **the kernel's connection** lives inside the sandbox only: its connection file is bound
  read-only into a small tmpfs (``KDIR_MOUNT``, ``KDIR_BYTES``) where the kernel binds its
  ``ipc`` sockets; the grader reaches them through ``/proc/<sandbox pid>/root`` (the sandbox
  is a process tree of the grader's, root or not).  Nothing the kernel can write lies on the
  host disk, so nothing it writes (or makes unreadable) outlives it, in either mode.
- **a process count of its own**: without root, every kernel runs as the grader's uid, and a
  process limit set before the sandbox would count the grader's own processes and every
  other kernel's (``RLIMIT_NPROC`` is per uid *and user namespace*: the count at the
  creator's level is checked against the creator's limit).  So the limit is set inside the
  kernel's fresh user namespace (``limits.py`` from the boot folder, run by the sandbox
  before the kernel), where it counts that kernel's processes alone.  (As root the kernel's
  uid is its grading process's own, and the limit is set outside as well.)
- **rlimits** (``limits.py``): address space, CPU, processes, file size, open files; the
  kernel's stdin is ``/dev/null``, its stdout/stderr a log file in the kernel dir (bounded by
  the file-size limit), never the worker's pipes.

Where bwrap is missing or does not work (``available()``), kernels run with the rlimits only
(as the grader's uid) and ``grade`` prints a loud warning
(``SANDBOX_WARNING``, ``warning()``) in its summary and report; ``protections()`` lists the
layers and which are on.
"""
import asyncio
import atexit
import contextlib
import ctypes
import fcntl
import functools
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import zmq
import zmq.asyncio
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.manager import AsyncKernelManager
from traitlets import DottedObjectName, Type, default

from . import wire

# what the grader's sockets take from a kernel (LimitedKernelClient): a bigger message is
# never received (ZeroMQ drops the connection before the grader holds it), and at most
# IOPUB_QUEUE messages wait unread in the grader (the rest waits in the kernel or is dropped
# there): the grader holds at most IOPUB_QUEUE x IOPUB_MESSAGE_BYTES of output at a time
IOPUB_MESSAGE_BYTES = 2 << 20     # one output message (prints, displays, errors)
IOPUB_QUEUE = 16                  # output messages queued unread in the grader
MESSAGE_MARGIN = 64 << 10         # an honest kernel keeps its outputs this far below the limit
MESSAGE_BYTES = 1 << 20           # one message on the other sockets; the shell socket takes
REPLY_MARGIN = 1 << 20            #   MAX_REPLY_BYTES (the call protocol's answer) + this

# environment of every grading kernel: one BLAS thread (same floating-point results whatever
# --jobs is, and N jobs use N cores), matplotlib's inline backend (Jupyter's: each figure
# becomes an image/png output, within the output caps; sanitize.py checks it)
KERNEL_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
              "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0"}
BOOT_MOUNT = "/tmp/nncourse-boot"       # where the boot folder appears inside the sandbox
BOOT = "kernel_boot.py"                   # the kernel's main script, in the boot folder
SANDBOX_WARNING = ("WARNING: NO SANDBOX. Student code ran with only memory/CPU/process/"
                   "file-size limits: it could read the course files, reference/, the gradebook "
                   "and other submissions, see and signal other processes, and reach the "
                   "network.")
MASKED = ("reference", "autograders", "nncourse", "course_config.py")   # never in a bound dir
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "fonts", "passwd", "group",
       "alternatives", "nsswitch.conf", "mime.types", "matplotlibrc")
SHM_BYTES = 64 << 20                      # the kernel's /dev/shm (tmpfs)
KDIR_MOUNT = "/run/nncourse-k"            # inside the sandbox: connection file + ipc sockets
KDIR_BYTES = 1 << 20                      # ... on a tmpfs of this size
WORK_MOUNT = "/run/nncourse-work"         # inside the sandbox: the kernel's working directory
TMP_HOME = {"HOME": "/tmp/home", "IPYTHONDIR": "/tmp/home/.ipython",
            "MPLCONFIGDIR": "/tmp/home/.mpl", "JUPYTER_RUNTIME_DIR": "/tmp/home/rt",
            "PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}

_STATE = {"prefix": [], "inner": [], "bwrap": None, "boot": None, "hidden": [], "binds": [], "masks": [],
          "env": {}, "uids": [], "gid": None, "tmpfs": 256 << 20, "uid_locks": [], "launches": 0,
          "max_reply": wire.MAX_REPLY_BYTES, "generation": 0}
KERNELS_PER_PROCESS = 2      # a grading process's kernels alive at once: the one running, the
                             # one started ahead for its next notebook (warm.py)
UID_LOCKS = Path(tempfile.gettempdir()) / "nncourse-sandbox-uids"


def sandbox_uids(first, count, n=KERNELS_PER_PROCESS):
    """Host uids for this process's kernels: up to ``n`` of ``first`` … ``first + count - 1``
    that no other grading process holds (an flock each on ``UID_LOCKS/<uid>``, kept for the
    process's life and released by the OS when it ends, even on SIGKILL).  Its kernels take
    them in turn (``next_uid``): the kernel running and the one started ahead for the next
    notebook (``warm.py``) have different uids.  When all are taken, ``[first]`` (shared: the
    process limit then counts several kernels together)."""
    if _STATE["uid_locks"]:
        return _STATE["uids"]
    UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
    uids = []
    for uid in range(first, first + max(1, count)):
        if len(uids) == n:
            break
        fd = os.open(UID_LOCKS / str(uid), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        os.set_inheritable(fd, False)
        _STATE["uid_locks"].append(fd)
        uids.append(uid)
    return uids or [first]


def next_uid():
    """The uid of the next kernel this process starts (its ``uids`` in turn)."""
    uids = _STATE["uids"]
    _STATE["launches"] += 1
    return uids[(_STATE["launches"] - 1) % len(uids)]


def available():
    """True when ``bwrap`` exists and can build our sandbox here (probed once per process).

    ``NNCOURSE_NO_SANDBOX=1`` in the environment turns the sandbox off (tests, debugging)."""
    return unavailable_reason() is None


def unavailable_reason():
    """Why there is no sandbox here, for the instructor (one line with the fix), or None."""
    if os.environ.get("NNCOURSE_NO_SANDBOX"):
        return "NNCOURSE_NO_SANDBOX is set in the environment: unset it"
    return _probe(shutil.which("bwrap"))


def _root():
    return os.geteuid() == 0


@functools.lru_cache(maxsize=None)
def _probe(exe):
    """None when this bwrap can build the sandbox's namespaces here (as the uid the kernel
    will have), else why not."""
    if exe is None:
        return ("bubblewrap (bwrap) is not installed: apt-get install bubblewrap "
                "(or ask the administrator)")
    inner = [exe, "--unshare-all", "--unshare-user", "--disable-userns", "--cap-drop", "ALL",
             "--die-with-parent", "--new-session", "--clearenv", *_usr_args(), "--proc", "/proc",
             "--dev", "/dev", "--tmpfs", "/tmp", "--", "true"]
    cmd = inner
    if _root():
        cmd = [exe, "--die-with-parent", "--unshare-pid", "--ro-bind", "/usr", "/usr", *_usr_links(),
               "--dev", "/dev", "--bind", "/proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp", "--",
               *_drop(65534, 65534), *inner]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=30, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe} could not be run: {exc}"
    if proc.returncode == 0:
        return None
    said = " ".join(proc.stderr.decode("utf-8", "replace").split())[:300]
    if "namespace" in said.lower() or "permission" in said.lower():
        return (f"{exe} is installed but cannot create the sandbox's namespaces here ({said}): "
                "unprivileged user namespaces are disabled or limited on this machine "
                "(sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone, "
                "kernel.apparmor_restrict_unprivileged_userns; in a container: its seccomp "
                "profile); ask the administrator to allow them, or grade as root")
    return f"{exe} failed here (exit {proc.returncode}): {said or 'no message'}"


def _usr_links():
    args = []
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        target = Path("/" + name)
        if target.is_symlink():
            args += ["--symlink", os.readlink(target), "/" + name]
        elif target.is_dir():
            args += ["--ro-bind", str(target), str(target)]
    return args


def _usr_args():
    return ["--ro-bind", "/usr", "/usr", *_usr_links()]


def _drop(uid, gid):
    """argv prefix that (as root) drops to uid/gid with no groups, then execs the rest."""
    setpriv = shutil.which("setpriv")
    if setpriv:
        return [setpriv, "--reuid", str(uid), "--regid", str(gid), "--clear-groups", "--"]
    code = ("import os,sys;os.setgroups([]);os.setgid(%d);os.setuid(%d);"
            "os.execvp(sys.argv[1],sys.argv[1:])" % (gid, uid))
    return [sys.executable, "-I", "-S", "-c", code]


def mode():
    """The sandbox mode of this process's kernels: ``root`` (two bwrap layers, a uid of the
    grading process's own), ``user`` (one bwrap layer in a user namespace, the grader's own
    uid), or ``none`` (rlimits only)."""
    bw = bool(_STATE["bwrap"]) if _STATE["boot"] is not None else available()
    return ("root" if _root() else "user") if bw else "none"


def protections():
    """The layers of the sandbox here: [(layer, on, note)] (after ``configure_sandbox`` the
    answer is for this process's kernels; before, for what ``configure_sandbox`` would do).
    README "Grading safety" has the same table per mode, and the tests back each row."""
    m = mode()
    bw = m != "none"
    uid = ", ".join(map(str, _STATE["uids"])) if _STATE["uids"] else "SANDBOX_UID + n"
    why = "" if bw else (unavailable_reason() or "the sandbox was turned off for this run")
    return [
        ("bwrap", bw, "bubblewrap sandbox" if bw else why),
        ("user namespace", bw, "no capabilities, no nested user namespaces"),
        ("separate uid", m == "root",
         f"host uids {uid}, this grading process's own, one per kernel alive at once "
         "(the one running, the one started ahead)" if m == "root" else
         f"no: the kernel runs as the grader's own uid {os.geteuid()} (grading without root); "
         "inside the sandbox that uid reaches only what is bound read-only, but a kernel that "
         "escaped bwrap would act as the instructor" if m == "user" else
         f"no: the kernel runs as the grader's uid {os.geteuid()}"
         + (" (root!)" if _root() else "")),
        ("pid namespace", bw, "no host process visible or killable; descendants die with it"),
        ("network namespace", bw, "no network"),
        ("file system", bw, "only the interpreter, venv, system libraries, MNIST, boot "
         "folder read-only; size-limited tmpfs for /tmp, the working copy and the kernel's "
         "connection; nothing written to the host disk"),
        ("process count", bw,
         "each kernel's own (a uid per grading process)" if m == "root" else
         "each kernel's own (the limit is set inside its user namespace)" if m == "user" else
         "shared with every process of the grader's uid: one student's fork bomb can stop "
         "the others' grading" + (" (not enforced for root)" if _root() else "")),
        ("limits", True, "rlimits: address space, CPU, file size, open files")]


def warning():
    """A loud line naming the missing protections, or "" when every layer that this mode can
    have is on (grading without root says once what it lacks: the separate uid)."""
    rows = protections()
    if mode() == "none":
        missing = [f"{layer} ({note})" for layer, on, note in rows if not on and layer != "bwrap"]
        return (f"{SANDBOX_WARNING} Why: {rows[0][2]}. Missing: " + "; ".join(missing) + ".")
    missing = [f"{layer} ({note})" for layer, on, note in rows if not on]
    if mode() == "user" and [layer for layer, on, _ in rows if not on] == ["separate uid"]:
        return ("NOTE: grading without root: every kernel is sandboxed (user, pid and network "
                "namespaces, read-only files, its own process count), but runs as your own "
                f"uid {os.geteuid()}, not a uid of its own: a kernel that escaped bubblewrap "
                "would act as you (README: Grading modes)")
    return ("WARNING: SANDBOX INCOMPLETE. Missing: " + "; ".join(missing) + ".") if missing else ""


def inner_limits(course, python=None):
    """``python -I -S <boot>/limits.py --nproc N --``: run by the sandbox inside the kernel's
    user namespace, so that its process count is that kernel's alone (see the module doc)."""
    return [python or sys.executable, "-I", "-S", f"{BOOT_MOUNT}/limits.py",
            "--nproc", str(course.setting("KERNEL_MAX_PROCESSES")), "--"]


def limits_prefix(course, nproc=True):
    """``python -I -S .../limits.py ... --``: the rlimits of ``course_config``.  (The
    drop to the sandbox uid happens inside the outer, root bwrap layer, by ``setpriv``; without
    bwrap a root grader's kernel stays root: the interpreter, the working copy and the kernel
    dir are often out of reach of another uid, and ``warning()`` says so.)"""
    setting = course.setting
    # run by path, isolated and without site: stdlib only, whatever sys.path the venv has
    return [sys.executable, "-I", "-S", str(Path(__file__).with_name("limits.py")),
            "--as-mib", str(setting("KERNEL_MEMORY_MIB")),
            "--cpu-s", str(setting("KERNEL_CPU_S")),
            "--nproc", str(setting("KERNEL_MAX_PROCESSES") if nproc else 0),
            "--fsize-mib", str(setting("KERNEL_MAX_FILE_MIB")),
            "--nofile", str(setting("KERNEL_MAX_OPEN_FILES")), "--"]


def _looks_like_course(path):
    return any((path / n).exists() for n in ("course_config.py", "autograders", "reference"))


def hidden_dirs(course):
    """Directories the student's code must not see: the course, nncourse's checkout, and any
    folder on the grader's sys.path that looks like a course (a course directory on
    PYTHONPATH, a worker started inside one): the sandbox binds sys.path's other entries."""
    dirs = {course.root.resolve()}
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "nncourse").is_dir() and (
            _looks_like_course(checkout) or (checkout / ".git").exists()):
        dirs.add(checkout)
    for entry in _path_entries():
        path = Path(entry).resolve()
        if path.is_dir() and path != Path("/") and _looks_like_course(path):
            dirs.add(path)
    return sorted(dirs, key=lambda p: len(p.parts))


def _inside(path, dirs):
    return any(path == d or d in path.parents for d in dirs)


def _ancestor_or_same(path, dirs):
    return any(path == d or path in d.parents for d in dirs)


def _path_entries():
    """The grader's existing sys.path entries, without the script's folder / the cwd (where
    the grader happened to be started: a home directory, say, is no library)."""
    skip = {os.getcwd()}
    if sys.argv and sys.argv[0] not in ("", "-c", "-m"):
        skip.add(os.path.dirname(os.path.abspath(sys.argv[0])))
    return [e for e in sys.path if e and os.path.exists(e) and os.path.abspath(e) not in skip]


def sandbox_binds(hidden, extra=()):
    """(binds, masks): the host paths bound read-only at their own path, and the paths inside
    them masked (dirs by an empty tmpfs, files by /dev/null)."""
    cands = [Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).parent]
    for entry in _path_entries():
        cands.append(Path(entry))
    cands += [Path(p) for p in extra]
    binds = []
    for c in cands:
        try:
            c = c.resolve()
        except OSError:
            continue
        if not c.exists() or _ancestor_or_same(c, hidden) or c == Path("/"):
            continue
        if _inside(c, [Path("/usr")]) or _inside(c, binds):
            continue
        binds = [b for b in binds if not _inside(b, [c])] + [c]
    binds.sort(key=lambda p: len(p.parts))
    masks = set()
    for entry in _path_entries():
        if os.path.isdir(entry):
            d = Path(entry).resolve()
            if _inside(d, binds + [Path("/usr")]):
                masks.update(d / n for n in MASKED if os.path.lexists(d / n))
    masks.update(h for h in hidden if _inside(h, binds + [Path("/usr")]))
    return binds, sorted(masks, key=lambda p: len(p.parts))


def _mask_args(masks):
    args = []
    for m in masks:
        args += ["--tmpfs", str(m)] if m.is_dir() else ["--ro-bind", "/dev/null", str(m)]
    return args


def bwrap_args(connfile, binds, masks, boot, env, tmpfs_bytes=256 << 20):
    """The (inner, unprivileged) bwrap argv, without the kernel command, for one kernel.

    Its sources are host paths (grader not root) or the outer layer's view of them."""
    size = str(int(tmpfs_bytes))
    args = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user",
            "--disable-userns", "--cap-drop", "ALL", "--die-with-parent", "--new-session",
            "--clearenv", *_usr_args()]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(SHM_BYTES), "--tmpfs", "/dev/shm",
             "--size", size, "--tmpfs", "/tmp", "--dir", "/tmp/home"]
    for src in binds:                                    # interpreter, venv, sys.path, MNIST
        args += ["--ro-bind", str(src), str(src)]
    args += _mask_args(masks)
    args += ["--ro-bind", str(boot), BOOT_MOUNT, "--size", str(KDIR_BYTES), "--tmpfs", KDIR_MOUNT,
             "--ro-bind", str(connfile), f"{KDIR_MOUNT}/conn.json",
             "--size", size, "--tmpfs", WORK_MOUNT]        # filled by fill_workdir
    # the sandbox's root and /dev (tmpfs without size limit, where bwrap made the mount
    # points) read-only: only /tmp, /dev/shm and the working directory (size-limited) take writes
    args += ["--remount-ro", "/", "--remount-ro", "/dev", "--chdir", WORK_MOUNT]
    for key, value in env.items():
        args += ["--setenv", key, value]
    return args


def outer_args(connfile, binds, boot, uid, gid):
    """The outer bwrap layer (grader is root): a mount namespace that shows the inner layer
    what it binds, at the same paths, reachable by the sandbox uid; then the drop to it."""
    dests = [*binds, Path(boot), Path(connfile)]
    # root's bwrap makes missing parents mode 0700: make them 0755 first, so the sandbox uid
    # can reach what is bound (e.g. a venv under a mode-0700 /root)
    parents = {a for d in dests for a in Path(d).parents if a != Path("/")} | {Path("/etc")}
    parents = [a for a in parents if a != Path("/tmp") and not _inside(a, [Path("/usr"), *binds])]
    # --unshare-pid: bwrap's init is pid 1 of a pid namespace holding the whole sandbox, so
    # when the grader dies (SIGKILL included) the kernel goes with it.  --die-with-parent
    # alone does not reach that far: the drop to the sandbox uid clears the parent-death
    # signal, and the inner bwrap then outlives the grader (measured: orphaned kernels)
    args = [shutil.which("bwrap") or "bwrap", "--die-with-parent", "--unshare-pid", *_usr_args()]
    # /tmp: where the inner bwrap builds its new root (/tmp/.bubblewrap-<uid>); /proc as the
    # host has it (a submount-free, writable proc lets the inner layer mount its own)
    args += ["--dev", "/dev", "--bind", "/proc", "/proc", "--perms", "1777", "--tmpfs", "/tmp"]
    for a in sorted(parents, key=lambda x: (len(x.parts), str(x))):
        args += ["--perms", "0755", "--dir", str(a)]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    for src in [*binds, boot]:
        args += ["--ro-bind", str(src), str(src)]
    args += ["--ro-bind", str(connfile), str(connfile)]
    return args + ["--", *_drop(uid, gid)]


def scratch_base():
    """Where this process's temporary folders go: ``NNCOURSE_SCRATCH`` (the local executor
    gives each run one, and removes it after the run), else the system's."""
    return os.environ.get("NNCOURSE_SCRATCH") or None


BOOT_FILES = ("kernel_boot.py", "wire.py", "limits.py")   # from nncourse/kernel/, beside the
                                                         # test functions


def make_boot(course):
    """The kernel's boot folder: its main script, the wire format and the course's public
    test functions.  Nothing secret: no check, no reference, no expected value."""
    boot = Path(tempfile.mkdtemp(prefix="nncourse-boot-", dir=scratch_base()))
    for name in BOOT_FILES:
        shutil.copy2(Path(__file__).with_name(name), boot / name)
    public = course.root / "autograders" / "testfuncs.py"
    if public.is_file():
        shutil.copy2(public, boot / "testfuncs.py")
    else:                                        # a course without public test functions
        (boot / "testfuncs.py").write_text("# no public test functions\n")
    for p in [boot, *boot.iterdir()]:
        p.chmod(0o755 if p.is_dir() else 0o644)
    atexit.register(shutil.rmtree, boot, True)
    return boot


def configure_sandbox(course, sandbox=None):
    """Make kernels started by this process sandboxed and give them the grading env.

    ``sandbox``: None = use bwrap when ``available()``; False = never (rlimits only)."""
    threads = str(course.setting("KERNEL_THREADS"))
    for key, value in KERNEL_ENV.items():
        os.environ[key] = threads if key.endswith("_NUM_THREADS") else value
    # the kernel itself drops output beyond the grader's per-cell cap (kernel_boot.cap_output)
    os.environ["NNCOURSE_MAX_OUTPUT_CHARS"] = str(10 * int(course.setting("MAX_OUTPUT_CHARS")))
    # ... and answers the grader's calls within MAX_REPLY_BYTES (kernel_boot.Server)
    _STATE["max_reply"] = int(course.setting("MAX_REPLY_BYTES"))
    os.environ["NNCOURSE_MAX_REPLY_BYTES"] = str(_STATE["max_reply"])
    # ... and sends an output too large for the grader as a note (kernel_boot.cap_messages)
    os.environ["NNCOURSE_MAX_MESSAGE_BYTES"] = str(IOPUB_MESSAGE_BYTES - MESSAGE_MARGIN)
    use = available() if sandbox is None else bool(sandbox) and available()
    _STATE["bwrap"] = use
    # the process limit: inside the kernel's user namespace when there is one (module doc)
    _STATE["prefix"] = limits_prefix(course, nproc=not use or _root())
    _STATE["inner"] = inner_limits(course) if use and not _root() else []
    _STATE["boot"] = make_boot(course)
    first, count = int(course.setting("SANDBOX_UID")), int(course.setting("SANDBOX_UIDS"))
    _STATE["uids"] = sandbox_uids(first, count) if use and _root() else [first]
    _STATE["gid"] = int(course.setting("SANDBOX_GID"))
    _STATE["tmpfs"] = int(course.setting("KERNEL_TMPFS_MIB")) << 20
    hidden = hidden_dirs(course)
    _STATE["hidden"] = hidden
    _STATE["generation"] += 1
    mnist = {"NNCOURSE_MNIST_CACHE": str(course.setting("MNIST_CACHE_DIR") or ""),
             "NNCOURSE_MNIST_DIR": str(course.setting("MNIST_DIR") or "")}
    extra = [Path(v) for v in mnist.values() if v and Path(v).is_dir()]
    _STATE["binds"], _STATE["masks"] = sandbox_binds(hidden, extra)
    env = dict(TMP_HOME)
    env.update({k: os.environ[k] for k in KERNEL_ENV if k in os.environ})
    for key in ("NNCOURSE_MAX_OUTPUT_CHARS", "NNCOURSE_MAX_REPLY_BYTES", "NNCOURSE_MAX_MESSAGE_BYTES"):
        env[key] = os.environ[key]
    env.update({k: v for k, v in mnist.items() if v})
    _STATE["env"] = env
    return use


def booted():
    """Whether this process's kernels start from the boot script (after configure_sandbox)."""
    return _STATE["boot"] is not None


def sandboxed():
    """Whether this process's kernels run in bwrap (after ``configure_sandbox``)."""
    return bool(_STATE["bwrap"])


def generation():
    """How many times ``configure_sandbox`` ran in this process: a kernel started under an
    earlier configuration (another course's boot folder and binds) is not used for this one."""
    return _STATE["generation"]


@functools.cache
def _libc():
    return ctypes.CDLL(None, use_errno=True)


@contextlib.contextmanager
def _file_owner(uid, gid):
    """As root: this thread creates files as ``uid``/``gid`` (``setfsuid``, per thread: the
    grader's other threads keep theirs).  A tmpfs of the sandbox's user namespace, which maps
    the sandbox uid and not root, refuses a file owned by root (EOVERFLOW)."""
    if uid is None or not _root():
        yield
        return
    libc = _libc()
    old_gid, old_uid = libc.setfsgid(gid), libc.setfsuid(uid)
    try:
        yield
    finally:
        libc.setfsuid(old_uid)
        libc.setfsgid(old_gid)


def copy_into(src, dest_fd, owner=(None, None)):
    """Copy the folder ``src`` (a host working copy) into the folder open as ``dest_fd``:
    regular files (mode 0644) and folders (0755) only, created as ``owner`` (uid, gid) when
    the grader is root; a link, fifo or device is skipped, never followed or opened.
    Returns the names skipped."""
    skipped = []
    for entry in sorted(os.scandir(src), key=lambda e: e.name):
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            with _file_owner(*owner):
                os.mkdir(entry.name, 0o755, dir_fd=dest_fd)
            sub = os.open(entry.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dest_fd)
            try:
                skipped += [f"{entry.name}/{n}" for n in copy_into(entry.path, sub, owner)]
            finally:
                os.close(sub)
        elif stat.S_ISREG(st.st_mode):
            with open(os.open(entry.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK), "rb") as f_in:
                with _file_owner(*owner):
                    fd = os.open(entry.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                                 0o644, dir_fd=dest_fd)
                with open(fd, "wb") as f_out:
                    shutil.copyfileobj(f_in, f_out, 1 << 20)
        else:
            skipped.append(entry.name)
    return skipped


class BoundedContext(zmq.asyncio.Context):
    """A ZeroMQ context whose sockets take bounded messages from a kernel: set on each
    socket before it connects (see ``IOPUB_MESSAGE_BYTES``)."""

    def socket(self, socket_type, *args, **kwargs):
        sock = super().socket(socket_type, *args, **kwargs)
        if socket_type == zmq.SUB:                  # iopub: the kernel's output
            sock.setsockopt(zmq.MAXMSGSIZE, IOPUB_MESSAGE_BYTES)
            sock.setsockopt(zmq.RCVHWM, IOPUB_QUEUE)
        elif socket_type == zmq.DEALER:             # shell (the call protocol), control, stdin
            sock.setsockopt(zmq.MAXMSGSIZE, _STATE["max_reply"] + REPLY_MARGIN)
        else:                                       # heartbeat
            sock.setsockopt(zmq.MAXMSGSIZE, MESSAGE_BYTES)
        return sock


class LimitedKernelClient(AsyncKernelClient):
    """The grader's client of a grading kernel: ZeroMQ drops the connection of a kernel that
    sends a message over the socket's limit, before the grader holds it in memory, and
    output waits unread in the grader only up to ``IOPUB_QUEUE`` messages (``BoundedContext``;
    the wire format's own limits are checked after)."""

    @default("context")
    def _bounded_context(self):
        self._created_context = True
        return BoundedContext()


def children():
    """{pid: [child pids]} of every process visible here (from /proc)."""
    kids = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def sandbox_pid(launched):
    """The first descendant of ``launched`` that lives in the kernel's sandbox (it sees the
    connection file at ``KDIR_MOUNT``), or None."""
    kids, todo = children(), [launched]
    while todo:
        pid = todo.pop(0)
        if pid != launched and os.path.exists(f"/proc/{pid}/root{KDIR_MOUNT}/conn.json"):
            return pid
        todo += kids.get(pid, [])
    return None


class SandboxedKernelManager(AsyncKernelManager):
    """AsyncKernelManager whose kernel runs under rlimits, in bwrap, from the boot script."""

    client_class = DottedObjectName("nncourse.kernel.sandbox.LimitedKernelClient")
    client_factory = Type(LimitedKernelClient)   # (AsyncKernelManager's own would ignore client_class)

    @default("context")
    def _bounded_context(self):              # its control socket (interrupts, shutdown)
        self._created_context = True
        return BoundedContext()

    _kerneldir = None
    _log = None
    sandbox_pid = None       # the kernel's sandbox, once found (bwrap)
    uid = None               # its host uid (grader root, bwrap)

    async def _async_pre_start_kernel(self, **kw):
        if self._drops():
            self.uid = next_uid()
        if _STATE["boot"] is not None:
            self._kerneldir = Path(tempfile.mkdtemp(prefix="nncourse-k-", dir=scratch_base()))
            if _STATE["bwrap"]:                 # TCP cannot cross --unshare-net
                self.transport = "ipc"
                self.ip = f"{KDIR_MOUNT}/k"     # as the kernel sees it (the connection file)
            self.connection_file = str(self._kerneldir / "conn.json")
            # interrupt by message: a signal to bwrap does not reach the kernel's new session
            self.kernel_spec.interrupt_mode = "message"
        return await super()._async_pre_start_kernel(**kw)

    async def _async_start_kernel(self, **kw):
        try:
            await super()._async_start_kernel(**kw)
        except BaseException:              # a kernel that never started leaves no folder
            self._remove_kerneldir()
            raise

    def format_kernel_cmd(self, extra_arguments=None):
        cmd = super().format_kernel_cmd(extra_arguments)
        prefix = list(_STATE["prefix"])
        if _STATE["boot"] is None:            # configure_sandbox() not called: rlimits only
            return prefix + cmd
        if "-m" in cmd and cmd[cmd.index("-m") + 1] == "ipykernel_launcher":
            i = cmd.index("-m")
            cmd[i:i + 2] = [str(Path(BOOT_MOUNT if _STATE["bwrap"] else _STATE["boot"]) / BOOT)]
        if not _STATE["bwrap"]:
            return prefix + cmd
        cmd = [f"{KDIR_MOUNT}/conn.json" if c == self.connection_file else c for c in cmd]
        # env -i: bwrap's own process (the init of the kernel's pid namespace, whose
        # /proc/1/environ the kernel can read) must not carry the grader's environment
        # (a gradebook URL with its password, tokens); the kernel gets only _STATE["env"]
        inner = [shutil.which("env") or "/usr/bin/env", "-i"] + bwrap_args(
            self.connection_file, _STATE["binds"], _STATE["masks"], _STATE["boot"],
            _STATE["env"], _STATE["tmpfs"])
        kernel = ["--", *_STATE["inner"], *cmd]
        if self._drops():
            outer = outer_args(self.connection_file, _STATE["binds"], _STATE["boot"],
                               self.uid, _STATE["gid"])
            return prefix + outer + inner + kernel
        return prefix + inner + kernel

    def _drops(self):
        return bool(_STATE["bwrap"]) and _root()

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        kw["stdin"] = subprocess.DEVNULL
        if self._kerneldir is not None:
            # the kernel's own stdout/stderr: a log in the (grader's) kernel dir, bounded by
            # the file-size rlimit; never the worker's pipes
            self._log = open(self._kerneldir / "kernel.log", "wb")
            kw["stdout"] = kw["stderr"] = self._log
            if self._drops():                   # the sandbox uid reads the connection file
                os.chmod(self.connection_file, 0o644)    # (its folder stays 0700)
        else:
            kw.setdefault("stdout", subprocess.DEVNULL)
            kw.setdefault("stderr", subprocess.DEVNULL)
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if self._log is not None:
                self._log.close()              # the child has its own copy
                self._log = None

    async def _async_post_start_kernel(self, **kw):
        if self._kerneldir is not None and _STATE["bwrap"]:
            await self._find_sandbox()
            if self._launch_args.get("cwd"):
                self.fill_workdir(self._launch_args["cwd"])
        await super()._async_post_start_kernel(**kw)

    def fill_workdir(self, workdir):
        """Copy the host working copy ``workdir`` into the kernel's working directory
        (``WORK_MOUNT``, in its sandbox; ``copy_into``).  Only before the kernel has run any
        cell: a kernel that ran student code could have put links there."""
        if self.sandbox_pid is None:
            raise RuntimeError("Failed to start the kernel: its sandbox was not found "
                               "(bwrap: see the kernel log)")
        owner = (self.uid, _STATE["gid"]) if self._drops() else (None, None)
        try:
            dest = os.open(f"/proc/{self.sandbox_pid}/root{WORK_MOUNT}", os.O_RDONLY | os.O_DIRECTORY)
            try:
                skipped = copy_into(workdir, dest, owner)
            finally:
                os.close(dest)
        except OSError as exc:
            raise RuntimeError(
                f"the working copy {workdir} could not be copied into the kernel's working "
                f"directory ({exc.strerror or exc}; it holds KERNEL_TMPFS_MIB = "
                f"{_STATE['tmpfs'] >> 20} MiB)") from exc
        if skipped:
            self.log.warning("not copied into the kernel's working directory (not a regular "
                             "file or folder): %s", ", ".join(skipped[:10]))

    async def _find_sandbox(self, timeout=60.0):
        """Point the grader's sockets at the sandbox's: ``/proc/<sandbox pid>/root`` +
        ``KDIR_MOUNT`` (polled until the sandbox exists or its launcher is gone)."""
        launched = getattr(self.provisioner, "pid", None)
        loop = asyncio.get_running_loop()
        end = loop.time() + timeout
        while launched is not None and loop.time() < end:
            pid = sandbox_pid(launched)
            if pid is not None:
                self.sandbox_pid = pid
                self.ip = f"/proc/{pid}/root{KDIR_MOUNT}/k"
                return
            if not await self._async_is_alive():
                return
            await asyncio.sleep(0.02)

    def kill_now(self):
        """Kill the kernel without an event loop (its sandbox dies with the process launched:
        ``--die-with-parent``, the pid namespace) and remove its folder."""
        proc = getattr(self.provisioner, "process", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                pass
        self._remove_kerneldir()

    def _remove_kerneldir(self):
        if self._kerneldir is not None:
            shutil.rmtree(self._kerneldir, ignore_errors=True)

    async def _async_cleanup_resources(self, restart=False):
        await super()._async_cleanup_resources(restart=restart)
        if self._kerneldir is not None and not restart:
            try:            # what bwrap or a dying kernel said, for the worker's log
                with open(self._kerneldir / "kernel.log", "rb") as f:
                    f.seek(max(0, os.fstat(f.fileno()).st_size - 2000))
                    tail = f.read().decode("utf-8", "replace")
                if any(w in tail for w in ("bwrap:", "Traceback", "Error", "error:")):
                    self.log.warning("kernel log (end):\n%s", tail)
            except OSError:
                pass
            self._remove_kerneldir()
