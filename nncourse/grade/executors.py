"""Where grading tasks run: processes on this machine, or a Dask cluster.

Every executor takes ``GradingTask``s and the ``GradingInputs`` they name and yields one
``TaskResult`` per task as tasks complete (for the progress bar and the one writer,
``merge.py``); a task no worker could finish comes back as a not-graded result with its
reason, so one bad submission never stops the others.  The ``load`` a caller passes reads a
task's submission just before it is sent; when it returns a ``TaskResult`` instead (the
submission could not be read), that result is yielded and nothing is sent.

- ``LocalExecutor`` (default, ``-j N``): N long-lived ``python -m nncourse.grade.worker``
  processes; a process's start-up is paid once per slot.  A process that dies mid-task is
  replaced and the task tried again (at most ``tries`` times); one that overruns its time
  is killed and the task reported as over time (not retried: it would overrun again).
- ``DaskExecutor``: ``--dask local`` (a ``LocalCluster`` of single-threaded workers) or
  ``--scheduler tcp://HOST:PORT`` (workers started with ``dask worker``).  The inputs of an
  assignment are one task whose result each worker fetches once (and Dask makes again if
  every copy is lost); a worker lost mid-task has its task rescheduled by Dask,
  and a task that takes ``distributed.scheduler.allowed-failures`` + 1 workers down with it
  comes back as ``KilledWorker``.  Dask has no per-task timeout: the task keeps its own
  (``NOTEBOOK_TIMEOUT_S``, in the kernel driver).  Only a window of tasks is in flight
  (twice the cluster's threads): a submission is read just before its task is submitted, so
  the coordinator holds a few submissions, not the whole deadline's.
"""
from __future__ import annotations

import logging
import os
import queue
import signal
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from .frames import read_frame, write_frame
from ..core.course import Course
from ..kernel.sandbox import KERNEL_ENV, children as process_children
from .task import (GRADER, GradingInputs, GradingTask, TaskResult, code_version, not_graded,
                   versions)

CRASH_JA = "採点プロセスが異常終了しました ({n} 回試しました)。"
CRASH_EN = "the grading process died {n} time(s) while grading this submission"
TIMEOUT_JA = "採点が {s} 秒以内に終わらなかったため打ち切りました。"
TIMEOUT_EN = "grading overran {s} s and was stopped"
LOST_JA = "この提出を採点するたびに採点プロセスが止まりました ({n} 回)。"
LOST_EN = "every worker that graded this submission died ({n} workers): not graded"


class ExecutorError(Exception):
    """The executor cannot run (no cluster at that address, workers of another version)."""


# a worker process is one job slot, one core: its own numpy (the hidden checks, a4's
# accuracy on MNIST in the grader) uses one BLAS thread, as Dask's nanny gives its workers
# (distributed.nanny.pre-spawn-environ); else N workers each spin up to all cores' threads
ONE_BLAS_THREAD = {k: "1" for k in KERNEL_ENV if k.endswith("_NUM_THREADS")}   # as the kernels


def task_timeout(course: Course) -> int:
    """The backstop of one task: the notebook budget + kernel start and feedback."""
    return int(course.setting("NOTEBOOK_TIMEOUT_S")) + 120


# --- local processes ----------------------------------------------------------------------
class _Slot:
    """One long-lived worker process and the thread that reads its frames."""

    def __init__(self, log_path: Path, env: dict[str, str]) -> None:
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nncourse.grade.worker"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=self.log, env=env, start_new_session=True)
        self.known = set()
        self.frames = queue.Queue()
        self._lock = threading.Lock()        # closed once, by its thread or by the executor
        self.closed = False

        def reader():
            try:
                while True:
                    frame = read_frame(self.proc.stdout)
                    self.frames.put(frame)
                    if frame is None:
                        return
            except Exception:      # a torn frame: the process died mid-write
                self.frames.put(None)
        threading.Thread(target=reader, daemon=True).start()

    def send(self, obj: object) -> None:
        write_frame(self.proc.stdin, obj)

    def close(self, kill: bool = False) -> None:
        with self._lock:
            if self.closed:
                return
            try:
                if not kill:
                    self.proc.stdin.close()
                    _exited(self.proc, 30)
            except OSError:
                pass
            kill_tree(self.proc.pid)    # the process and anything it left (kernels)
            self.proc.wait()
            self.log.close()
            self.closed = True


def _exited(proc, timeout):
    """Wait up to ``timeout`` s for ``proc`` to end without reaping it: until ``proc.wait()``
    its pid cannot be another process's (``kill_tree`` may still signal it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                return True
        except ChildProcessError:
            return True
        time.sleep(0.1)
    return False


def kill_tree(pid: int) -> None:
    """SIGKILL the process ``pid``, its process group and every process below it (kernels
    started in sessions of their own included): nothing of a worker outlives it."""
    children, todo, found = process_children(), [pid], []
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, []))
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    for p in found:
        try:
            os.kill(p, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


class LocalExecutor:
    name = "local"

    def __init__(self, course: Course, jobs: int = 1, tries: int = 3,
                 timeout: float | None = None) -> None:
        self.course, self.jobs, self.tries = course, max(1, int(jobs)), tries
        self.timeout = timeout or task_timeout(course)
        self.logs = course.state_dir / "logs"
        self._slots = set()                  # live worker processes (ended by ``close``)
        self._closing = threading.Event()
        self._lock = threading.Lock()

    def describe(self) -> str:
        return f"local, {self.jobs} process(es)"

    def run(self, tasks: Sequence[GradingTask], inputs: Mapping[str, GradingInputs],
            load: Callable[[GradingTask], GradingTask | TaskResult] | None = None
            ) -> Iterator[TaskResult]:
        todo = queue.Queue()
        for t in tasks:
            todo.put(t)
        done = queue.Queue()
        self.logs.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, **ONE_BLAS_THREAD)
        # the course is not on a worker's path: it grades inputs
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in env.get("PYTHONPATH", "").split(os.pathsep)
            if p and os.path.abspath(p) != str(self.course.root))
        # every temporary folder of the run's workers (scratch courses, boot and kernel
        # folders) lies in one folder that this process removes, even after a worker was
        # SIGKILLed and could not clean up after itself
        run_tmp = tempfile.mkdtemp(prefix="nncourse-run-", dir=env.get("NNCOURSE_SCRATCH") or None)
        env["NNCOURSE_SCRATCH"] = run_tmp
        n = min(self.jobs, len(tasks))
        threads = [threading.Thread(target=self._slot_loop,
                                    args=(i, todo, done, inputs, env, load or _loaded),
                                    daemon=True) for i in range(n)]
        try:
            for th in threads:
                th.start()
            for _ in range(len(tasks)):
                yield done.get()
            for th in threads:
                th.join()
        finally:
            remove_tree(run_tmp)

    def _slot_loop(self, i, todo, done, inputs, env, load):
        slot = None
        log = self.logs / f"worker-{i}.log"
        try:
            while True:
                if self._closing.is_set():
                    return
                try:
                    task = todo.get_nowait()
                except queue.Empty:
                    return
                task = load(task)              # the submission's bytes, read only now
                if isinstance(task, TaskResult):    # it could not be read: not graded
                    done.put(task)
                    continue
                while True:
                    if slot is None:
                        with self._lock:           # never a new process once closing
                            if self._closing.is_set():
                                return
                            slot = _Slot(log, env)
                            self._slots.add(slot)
                    try:
                        if task.inputs_digest not in slot.known:
                            slot.send(("inputs", inputs[task.inputs_digest]))
                            slot.known.add(task.inputs_digest)
                        slot.send(("task", task))
                        frame = slot.frames.get(timeout=self.timeout)
                    except queue.Empty:
                        slot.close(kill=True)
                        slot = None
                        done.put(not_graded(task, TIMEOUT_JA.format(s=self.timeout)
                                            + f" ログ: {log.relative_to(self.course.root)}",
                                            TIMEOUT_EN.format(s=self.timeout)))
                        break
                    except OSError:            # the process is gone (broken pipe)
                        frame = None
                    if frame is not None:
                        done.put(frame[1])
                        break
                    slot.close(kill=True)      # died mid-task: a new process, try again
                    slot = None
                    if self._closing.is_set():     # ... unless the run is being stopped
                        return
                    if task.attempt >= self.tries:
                        done.put(not_graded(task, CRASH_JA.format(n=task.attempt),
                                            CRASH_EN.format(n=task.attempt)
                                            + _last_error(log), cause=GRADER))
                        break
                    task.attempt += 1
        finally:
            if slot is not None:
                slot.close(kill=self._closing.is_set())
                self._slots.discard(slot)

    def close(self) -> None:
        """End every worker process now, with its kernels (an interrupted run: the task
        each was grading is lost, never half merged)."""
        with self._lock:
            self._closing.set()
            slots = list(self._slots)
        for slot in slots:
            slot.close(kill=True)


def remove_tree(path: str | os.PathLike[str]) -> None:
    """Remove ``path`` and everything in it, also folders that were made unreadable or
    unwritable (the owner may always give the permissions back)."""
    def fix(func, name, _exc):
        for p in {os.path.dirname(name), name}:
            try:
                if os.path.isdir(p) and not os.path.islink(p):
                    os.chmod(p, stat.S_IRWXU)
            except OSError:
                pass
        try:
            (shutil.rmtree if os.path.isdir(name) and not os.path.islink(name) else os.unlink)(name)
        except FileNotFoundError:
            pass
    if os.path.lexists(path):
        shutil.rmtree(path, onerror=fix)


# --- Dask -----------------------------------------------------------------------------------
def compare_versions(mine: Mapping[str, str],
                     workers: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Lines saying which workers differ from this machine, and in what."""
    lines = []
    for addr, theirs in sorted(workers.items()):
        diff = [f"{k} {theirs.get(k)!r} (here {mine[k]!r})" for k in sorted(mine)
                if k != "host" and theirs.get(k) != mine[k]]
        if diff:
            lines.append(f"  {addr} on {theirs.get('host', '?')}: " + ", ".join(diff))
    return lines


class DaskExecutor:
    name = "dask"

    def __init__(self, address: str | None = "local", jobs: int = 2,
                 allowed_failures: int = 2, window: int | None = None) -> None:
        import dask                       # (here: slow imports, paid only when grading on Dask)
        from distributed import Client, LocalCluster
        self.cluster = None
        self.window = window          # tasks in flight (None: see in_flight)
        # a task is given up after killing allowed_failures + 1 workers; one task per thread
        # at a time, so that a worker's death counts only against the task it was running
        dask.config.set({"distributed.scheduler.allowed-failures": allowed_failures,
                         "distributed.scheduler.worker-saturation": 1.0})
        if address in (None, "", "local"):
            self.cluster = LocalCluster(n_workers=max(1, int(jobs)), threads_per_worker=1,
                                        processes=True, dashboard_address=None,
                                        silence_logs=logging.ERROR)
            self.client = Client(self.cluster)
        else:
            try:
                self.client = Client(address, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise ExecutorError(f"no Dask scheduler answered at {address}: {exc}. Start one "
                                    "with `dask scheduler` and workers with `dask worker "
                                    f"{address} --nthreads 1` (README, Grading on Dask)") from exc
        self.address = address
        try:
            self.check_versions()
            # imported here, as distributed above
            from .dask_worker import GradingPlugin, run_on_worker
            self._run = run_on_worker
            self.client.register_plugin(GradingPlugin(), name=GradingPlugin.name)
        except ExecutorError:
            self.close()
            raise

    def describe(self) -> str:
        n = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        where = "LocalCluster" if self.cluster else self.address
        return f"dask ({where}), {n} worker(s)"

    def check_versions(self) -> None:
        """Workers must run the same nncourse code and the same libraries as this machine."""
        if not self.client.scheduler_info(n_workers=-1).get("workers"):
            self.client.wait_for_workers(1, timeout=60)
        mine = versions()
        lines = compare_versions(mine, self.client.run(versions))
        try:
            self.client.get_versions(check=True)
        except ValueError as exc:      # dask/distributed/msgpack versions differ
            lines.append(f"  {exc}")
        if lines:
            raise ExecutorError("Dask workers run other versions than this machine; install "
                                "the same project and packages there:\n" + "\n".join(lines))

    def in_flight(self) -> int:
        """How many tasks may be submitted and not yet returned: ``window`` if given, else
        twice the cluster's threads now (at least 2), so that every worker has its next
        task at hand while no more than a few submissions are held in this process."""
        if self.window:
            return self.window
        try:
            threads = sum(self.client.nthreads().values())
        except Exception:         # the scheduler did not answer: keep what is in flight
            threads = 0
        return max(2, 2 * threads)

    def run(self, tasks: Sequence[GradingTask], inputs: Mapping[str, GradingInputs],
            load: Callable[[GradingTask], GradingTask | TaskResult] | None = None
            ) -> Iterator[TaskResult]:
        """The results of ``tasks`` as they come.  A task's submission is read (``load``)
        just before it is submitted, and only ``in_flight()`` tasks are submitted at a time:
        each result that comes back lets the next task in."""
        from distributed import as_completed
        from distributed.scheduler import KilledWorker
        load = load or _loaded
        run_id = uuid.uuid4().hex[:8]       # inputs as a task, not scattered data: a lost
        shared = {d: self.client.submit(_same, inp, pure=False,    # copy is made again
                                        key=f"nncourse-inputs-{d[:12]}-{run_id}")
                  for d, inp in inputs.items()}
        todo = iter(tasks)
        futures = {}
        running = as_completed(loop=self.client.loop)    # not the process's latest Client's:
        # another Client made (and closed) meanwhile would leave the run waiting forever

        def submit_more() -> list[TaskResult]:
            """Fill the window; the tasks whose submission could not be read."""
            unread = []
            limit = self.in_flight()
            while len(futures) < limit:
                t = next(todo, None)
                if t is None:
                    break
                t = load(t)
                if isinstance(t, TaskResult):       # it could not be read: not graded
                    unread.append(t)
                    continue
                key = f"nncourse-grade-{t.assignment}-{t.student}-{uuid.uuid4().hex[:8]}"
                fut = self.client.submit(self._run, t, shared[t.inputs_digest], key=key,
                                         pure=False, retries=0)
                futures[fut] = t
                running.add(fut)
            return unread

        mine = code_version()
        yield from submit_more()
        for fut in running:
            t = futures.pop(fut)
            try:
                res = fut.result()
            except KilledWorker as exc:
                res = not_graded(t, LOST_JA.format(n=_failures()),
                                 LOST_EN.format(n=_failures()) + f" ({exc})", cause=GRADER)
            except Exception as exc:
                res = not_graded(t, "", f"grader error: {type(exc).__name__}: {exc}",
                                 cause=GRADER)
            else:
                if res.worker.get("nncourse") != mine:
                    res = not_graded(t, "", f"worker {res.worker.get('host')} runs nncourse "
                                     f"{res.worker.get('nncourse')}, here {mine}", cause=GRADER)
            finally:
                fut.release()
            unread = submit_more()        # the next task starts before this one is merged
            yield res
            yield from unread

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()


def _last_error(log):
    """``: <the last error line of a worker's log> (log: PATH)``: why a process died, for the
    instructor's one-line summary (the log keeps everything)."""
    try:
        with open(log, "rb") as f:
            f.seek(max(0, os.fstat(f.fileno()).st_size - 20000))
            lines = f.read().decode("utf-8", "replace").splitlines()
    except OSError:
        lines = []
    errors = [ln.strip() for ln in lines if ("Error" in ln or "Killed" in ln or "killed" in ln)
              and not ln.startswith(" ")]
    return (f": {errors[-1][:300]}" if errors else "") + f" (log: {log})"


def _same(inputs):
    return inputs


def _loaded(task):
    return task


def _failures():
    import dask
    return int(dask.config.get("distributed.scheduler.allowed-failures", 3)) + 1


def make_executor(course: Course, jobs: int = 1, dask: str | None = None,
                  scheduler: str | None = None) -> LocalExecutor | DaskExecutor:
    """The executor ``nncourse grade`` asked for: ``scheduler`` (an address, or the course's
    ``DASK_SCHEDULER``), ``dask="local"``, else local processes."""
    address = scheduler or (None if dask else course.setting("DASK_SCHEDULER") or None)
    if address:
        return DaskExecutor(address, jobs)
    if dask:
        return DaskExecutor("local", jobs)
    return LocalExecutor(course, jobs)

