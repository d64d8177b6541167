"""Notebook execution while grading: the kernel runs the student's cells and the visible
tests; the grader decides each test cell.

For a test cell, the kernel runs only its visible part; then the cell's hidden check (named
in the trusted source notebook, ``checks.py``) runs *here*, calling the student's code in
the kernel through the call protocol (``student.py``), and the cell's outputs become the
grader's verdict: nothing (pass) or one error output with the check's Japanese message.
nbgrader's SaveAutoGrades then scores exactly that verdict; what the kernel printed,
displayed or raised in a test cell never counts.

On top of nbgrader's per-cell timeout: a time budget per notebook, plain Japanese messages
when time runs out or the kernel dies, and the gradebook lock released while the kernel runs.
"""
import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from queue import Empty
from time import monotonic, sleep

import zmq
import zmq.asyncio
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.output_widget import OutputWidget
from nbclient.util import ensure_async, run_sync
from nbformat.notebooknode import NotebookNode
from traitlets import Bool, Instance, Integer, Unicode, default

from nbgrader import utils as nbutils
from nbgrader.preprocessors import Execute

from ..core.course import Course
from ..core.notebook import is_autograded_test, remove_hidden_tests
from .checks import CHECK_FAILED, NO_CHECK_MESSAGE, hidden_calls, run_check
from ..core.safetext import shorten
from .sandbox import SandboxedKernelManager, booted, configure_sandbox, generation, sandboxed
from .student import KernelProblem, Student
from .warm import WarmKernels
from .wire import MAX_REPLY_BYTES

log = logging.getLogger(__name__)

# error names written into cell outputs (read back by results.py)
CELL_TIMEOUT = "CellTimeoutError"
NOTEBOOK_TIMEOUT = "NotebookTimeoutError"
KERNEL_DIED = "KernelDiedError"
NOT_RUN = "NotExecutedError"
PROBLEM_ENAMES = (CELL_TIMEOUT, NOTEBOOK_TIMEOUT, KERNEL_DIED)
KERNEL_START_ATTEMPTS = 3     # jupyter_client's free-port choice can race other processes
KILLED_NOTE = " 中断 (interrupt) に応じなかったため、カーネルを停止しました。"
INTERRUPT_GRACE_S = 15        # after a timeout's interrupt, the kernel has this long to answer (a busy machine can be slow)
SERVE = "__nncourse__.serve({request!r})"          # what the grader asks the kernel to run
REPLY = "__nncourse__.reply"                       # ... and reads back (user_expressions)
_REPLY_TEXT = re.compile(r"'([A-Za-z0-9+/=]*)'")
OUTPUT_CUT = ("\n[出力が多すぎるため、ここから先の出力は採点では省略しました "
              "(1 セルあたり {limit:,} 文字まで)]\n")
NOTEBOOK_OUTPUT_CUT = ("\n[出力が多すぎるため、ここから先の出力は採点では省略しました "
                       "(ノートブック全体で {limit:,} 文字まで)]\n")
CALL_OUTPUT_CUT = ("\n[採点のための関数呼び出しの間に出力された {mb:,.1f} MB は、"
                   "出力が多すぎるため採点では省略しました]\n")
ERROR_CUT = "…(長すぎるため省略しました)"
SHORT_MESSAGE = 300           # a check's message once the notebook's output budget is used up

_LOOP = re.compile(r"^\s*(for|while)\b", re.M)
_NUMERICAL = re.compile(r"numerical_gradient\s*\(")
_TRAINING = re.compile(r"\b(iters_num|train_loss_list|batch_mask|learning_rate)\b")


def slow_training_hint(sources):
    """A Japanese hint for a cell that ran out of time, from the code that ran up to it."""
    code = "\n".join(sources)
    if _NUMERICAL.search(code) and (_LOOP.search(code) or _TRAINING.search(code)):
        return ("ループの中で numerical_gradient を使っていませんか？ 数値微分は 1 回の更新に"
                "何分もかかります。gradient (誤差逆伝播法) を使ってください。")
    if _TRAINING.search(code):
        return ("1 回の更新に時間がかかりすぎています。gradient (誤差逆伝播法) を使っているか、"
                "iters_num・batch_size を変えていないか確かめてください。")
    return "無限ループや重すぎる計算がないか確かめてください。"


def timeout_message(seconds, notebook_budget, sources):
    """The message a student reads when a cell was stopped after ``seconds``."""
    what = "学習" if _TRAINING.search(sources[-1] if sources else "") else "このセルの実行"
    limit = (f"ノートブック全体の制限時間 {seconds:.0f} 秒を使い切ったため打ち切り"
             if notebook_budget else f"{seconds:.0f} 秒で打ち切り")
    return f"{what}が時間内に終わりませんでした ({limit})。{slow_training_hint(sources)}"


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


@dataclass(eq=False)
class GradingNotes:
    """What the grader noticed while executing one submission's notebooks, beyond the
    cells' outputs.  The caller owns it (``grade/task.py`` makes one per submission, hands it
    to ``BudgetedExecute`` through the nbgrader config, ``nbconfig.nbgrader_config(notes=)``,
    and reads it after the run)."""

    # {notebook, cell, kind, detail} per flagged check (slow, died, ...: ``Verdict.flag``)
    flags: list[dict[str, str]] = field(default_factory=list)
    # grade_ids of test cells whose visible asserts failed in the kernel while the hidden
    # check passed: the hidden checks are meant to cover everything the visible ones check
    # (a gap in them, or a kernel that broke its own asserts); the catalogue tests require none
    visible_only: list[str] = field(default_factory=list)
    # seconds spent, summed over the notebooks (``benchmarks/stages.py``): "kernel_start" (from
    # the preprocessor's start to its first cell: the sandboxed kernel's start), "execute"
    # (the cells in the kernel), "checks" (the hidden checks), "preprocess" (all of it, with
    # the kernel's shutdown)
    timings: dict[str, float] = field(default_factory=dict)
    # notebooks that ran in a kernel started ahead of need (``warm.py``)
    warm_kernels: int = 0

    def add_time(self, stage: str, seconds: float) -> None:
        self.timings[stage] = self.timings.get(stage, 0.0) + seconds

    def __deepcopy__(self, memo):
        # traitlets deep-copies each config value into the configurable it configures: the
        # preprocessors of one run must all write into this one collector, not into copies
        return self


class OutputWidgetWithoutEcho(OutputWidget):
    """nbclient's stand-in for a front end's Output widget (``ipywidgets.interact`` draws
    into one), minus the echo: nbclient's sends the widget's new outputs back to the kernel
    on the shell socket from inside its output handler, while its reply poll waits on that
    same socket, and the poll then misses the cell's reply until its timeout (a3's explorer
    cell paused a grading for the whole cell timeout, 120 s, about once in 15 runs;
    jupyter/nbclient#312).  The outputs still go into the widget's saved state; the kernel's
    copy of them (``Output.outputs``) stays empty, which nothing graded reads."""

    def sync_state(self) -> None:
        pass


WIDGETS = {"@jupyter-widgets/output": {"OutputModel": OutputWidgetWithoutEcho}}


class BudgetedExecute(Execute):
    """nbgrader's Execute with a whole-notebook time budget and graceful kernel death.

    Cells that cannot run any more (budget used up, kernel dead) get an error output saying
    why, so the test cells after them score 0 with a message instead of the notebook failing.
    """

    slow_check = Integer(30, help="Seconds a test cell's hidden check may take before the "
                         "submission is flagged (a function slow only when the grader calls "
                         "it stretches grading: the instructor sees it).").tag(config=True)
    notebook_timeout = Integer(600, help="Seconds all cells of one notebook may take.").tag(
        config=True)
    max_output_chars = Integer(100_000, help="Output characters kept per cell while it runs "
                               "(the rest is dropped, so a huge print cannot fill the grader's "
                               "memory).").tag(config=True)
    max_notebook_output_chars = Integer(1_000_000, help="Output characters kept per notebook "
                                        "(all cells, the checks' messages included); the rest "
                                        "is dropped with a note.").tag(config=True)
    max_check_message_chars = Integer(2_000, help="Characters of one failed check's message "
                                      "(got / expected / hint); longer ones are cut.").tag(
        config=True)
    max_reply_bytes = Integer(MAX_REPLY_BYTES, help="Characters of one answer of the kernel to "
                              "the grader's calls; a bigger one fails the test unread.").tag(
        config=True)
    raise_on_iopub_timeout = Bool(False, help="A cell whose output did not finish arriving "
                                  "in iopub_timeout seconds after its reply keeps what arrived "
                                  "(a kernel whose output connection was dropped for a message "
                                  "over the limit, sandbox.IOPUB_MESSAGE_BYTES, does not stop "
                                  "the notebook).").tag(config=True)
    judge = Bool(True, help="Replace each test cell's outputs by the grader's verdict (False: "
                 "keep the visible tests' own outputs, as `nncourse check` does).").tag(config=True)
    source_dir = Unicode("", help="The course's trusted source/ folder: the hidden check of "
                         "each test cell is read from there, never from the submission.").tag(
        config=True)

    notes = Instance(GradingNotes, help="Where the grading flags and the visible-only "
                     "failures of this run go (the caller's ``GradingNotes``; a private one "
                     "when none is given, as under stock `nbgrader autograde`).").tag(config=True)

    warm = Instance(WarmKernels, allow_none=True, help="Kernels started ahead of need (the "
                    "grading process's ``WarmKernels``): each notebook takes the kernel waiting "
                    "for it, and the next one starts while it runs.  None (stock `nbgrader "
                    "autograde`, `nncourse check`): each kernel starts when it is needed.").tag(
        config=True)

    @default("notes")
    def _default_notes(self):
        return GradingNotes()

    @default("shutdown_kernel")
    def _default_shutdown_kernel(self):
        # the kernel is killed, not asked to stop, once its last cell has answered: every
        # output has arrived by then, and nothing it could still write outlives its sandbox
        # (a graceful stop waited about 0.5 s per notebook for ipykernel to exit)
        return "immediate"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def create_kernel_manager(self):
        """nbclient asks for a manager when it has none: with ``warm``, the kernel waiting
        for this notebook (started, ready, its working copy copied in) and its client, and
        the next notebook's kernel starts; else a new manager, as nbclient makes it."""
        if self.warm is None or not sandboxed():
            return super().create_kernel_manager()
        if not self.kernel_name:
            self.kernel_name = self.nb.metadata.get("kernelspec", {}).get("name") or ""
        arguments = list(self.extra_arguments)
        if self.ipython_hist_file and not any(a.startswith("--HistoryManager.hist_file")
                                              for a in arguments):   # as nbclient adds it
            arguments.append(f"--HistoryManager.hist_file={self.ipython_hist_file}")
        key = (self.kernel_name, tuple(arguments), generation())
        taken = self.warm.take(key)
        if taken is not None:
            km, kc = taken
            try:
                workdir = self.resources.get("metadata", {}).get("path")
                if workdir:                  # (none: the kernel's folder stays empty)
                    km.fill_workdir(workdir)
            except Exception:
                kc.stop_channels()
                km.kill_now()
                raise
            self.km, self.kc = km, kc
            self.kc.allow_stdin = False
            self.notes.warm_kernels += 1
        self.warm.start(self._manager, key, arguments, self.startup_timeout)
        if taken is None:
            self.km = self._manager()
        return self.km

    def _manager(self):
        return self.kernel_manager_class(config=self.config, **(
            {"kernel_name": self.kernel_name} if self.kernel_name else {}))

    def reset_execution_trackers(self):
        """nbconvert's ``preprocess`` runs nbclient's ``__init__`` again, which puts nbclient's
        Output widget stand-in back, then this: the place to put ours."""
        super().reset_execution_trackers()
        self.widget_registry = WIDGETS

    def preprocess(self, nb, resources=None, km=None):
        if self.judge and self.source_dir and not booted():   # stock `nbgrader autograde`
            configure_sandbox(Course.load(Path(self.source_dir).parent))
        self._deadline = monotonic() + self.notebook_timeout
        self._stopped = None          # (ename, message) once cells can no longer run
        self._sources = []            # code executed so far (for the timeout hint)
        self._output_used = {}        # cell index -> output characters received
        self._notebook_output = 0     # output characters kept in the whole notebook
        self._notebook_cut = False    # True once the notebook's output budget was used up
        self._call_output = 0         # bytes of output the kernel sent during a check's calls
        self._killed = False          # True once a kernel ignored an interrupt and was killed
        self._t0 = monotonic()
        try:
            return self._preprocess(nb, resources, km)
        finally:
            self.notes.add_time("preprocess", monotonic() - self._t0)

    def _preprocess(self, nb, resources, km):
        for attempt in range(1, KERNEL_START_ATTEMPTS + 1):
            self._started = False
            try:
                return super().preprocess(nb, resources, km)
            except Exception as exc:   # e.g. a port taken between choice and bind
                if self._started or km is not None or attempt == KERNEL_START_ATTEMPTS:
                    raise
                self.log.warning("kernel did not start (%s); attempt %d", exc, attempt + 1)
                sleep(0.5 * attempt)

    def _get_timeout(self, cell):
        remaining = self._deadline - monotonic()
        self._budget_bound = self.timeout is None or remaining < self.timeout
        if self.timeout is None:
            return max(1, int(remaining))
        return max(1, int(min(self.timeout, remaining)))

    async def _async_handle_timeout(self, timeout, cell=None):
        budget = getattr(self, "_budget_bound", False)
        seconds = self.notebook_timeout if budget else timeout
        msg = timeout_message(seconds, budget, self._sources)
        self.error_on_timeout = {"ename": NOTEBOOK_TIMEOUT if budget else CELL_TIMEOUT,
                                 "evalue": msg, "traceback": [msg]}
        if budget:
            self._stopped = (NOT_RUN, "ノートブック全体の制限時間 "
                             f"{self.notebook_timeout} 秒を使い切ったため、このセルは実行されませんでした。")
        reply = await super()._async_handle_timeout(timeout, cell)
        if await self._kill_if_unresponsive() and reply:
            text = reply["content"]["evalue"] + KILLED_NOTE
            reply["content"].update(evalue=text, traceback=[text])
        return reply

    async def _kill_if_unresponsive(self):
        """After a timeout's interrupt, wait briefly for the kernel's answer, else kill it (a
        loop that ignores SIGINT or catches KeyboardInterrupt would block every later cell)."""
        deadline = monotonic() + INTERRUPT_GRACE_S
        while monotonic() < deadline:
            try:
                msg = await self.kc.shell_channel.get_msg(timeout=0.5)
            except Empty:
                continue
            if msg.get("msg_type") == "execute_reply":
                return False
        self.log.warning("kernel ignored the interrupt: killing it")
        self._killed = True
        self._stopped = (NOT_RUN, "前のセルが中断 (interrupt) に応じなかったためカーネルを停止しました。"
                         "このセルは実行されませんでした。")
        await self.km.shutdown_kernel(now=True)
        return True

    def output(self, outs, msg, display_id, cell_index):
        """Keep an output message within the cell's and the notebook's budgets.  An error is
        kept cut to half the cell's budget (it fails the cell); once the notebook's budget is
        used up, only a test cell's error is kept (its name), others are dropped too."""
        room = self.max_notebook_output_chars - self._notebook_output
        error = msg.get("msg_type") == "error"
        if error:
            self._cut_error(msg.get("content", {}), self.max_output_chars // 2 if room > 0 else 0)
            if room > 0 or nbutils.is_grade(self.nb.cells[cell_index]):
                self._notebook_output += _output_size(msg)
                return super().output(outs, msg, display_id, cell_index)
        size = _output_size(msg)
        used = self._output_used.get(cell_index, 0)
        self._output_used[cell_index] = used + size
        if not error and used + size <= self.max_output_chars and size <= room:
            self._notebook_output += size
            return super().output(outs, msg, display_id, cell_index)
        if size > room:                        # the notebook's budget: say so once
            if not self._notebook_cut:
                self._notebook_cut = True
                outs.append(NotebookNode(output_type="stream", name="stdout",
                                         text=NOTEBOOK_OUTPUT_CUT.format(
                                             limit=self.max_notebook_output_chars)))
        elif used <= self.max_output_chars:    # the cell's: once per cell
            outs.append(NotebookNode(output_type="stream", name="stdout",
                                     text=OUTPUT_CUT.format(limit=self.max_output_chars)))
        return None

    def on_cell_executed(self, **kwargs):
        """nbgrader adds the reply's error to the cell when no error output arrived (a
        timeout, a lost output): cut it as an error output is cut."""
        content = kwargs["execute_reply"].get("content", {})
        if content.get("status") == "error":
            room = self.max_notebook_output_chars - self._notebook_output
            self._cut_error(content, self.max_output_chars // 2 if room > 0 else 0)
            if not any(o.get("output_type") == "error" and o.get("ename") == content["ename"]
                       for o in kwargs["cell"].get("outputs", [])):     # nbgrader adds it
                self._notebook_output += _output_size({"content": content})
        return super().on_cell_executed(**kwargs)

    @staticmethod
    def _cut_error(content, limit):
        """An error output's message and traceback within ``limit`` characters each (0: the
        notebook's budget is used up: the error's name only)."""
        evalue, tb = content.get("evalue"), content.get("traceback")
        content["ename"] = str(content.get("ename", "Error"))[:100]
        if not isinstance(evalue, str) or len(evalue) > limit:
            content["evalue"] = shorten(evalue, limit, ERROR_CUT) if limit and \
                isinstance(evalue, str) else ERROR_CUT
        if not isinstance(tb, list) or sum(len(t) if isinstance(t, str) else limit + 1
                                           for t in tb) > limit:
            lines = "\n".join(t for t in tb if isinstance(t, str)) if isinstance(tb, list) else ""
            content["traceback"] = [shorten(lines, limit, ERROR_CUT) if limit else
                                    str(content.get("ename", "Error"))[:100]]

    def preprocess_cell(self, cell, resources, index):
        if not self._started:
            self.notes.add_time("kernel_start", monotonic() - self._t0)
        self._started = True
        if cell.cell_type != "code" or not cell.source.strip():
            return cell, resources
        if self._stopped is None and monotonic() >= self._deadline:
            self._stopped = (NOT_RUN, "ノートブック全体の制限時間 "
                             f"{self.notebook_timeout} 秒を使い切ったため、このセルは実行されませんでした。")
        if self._stopped is not None:
            cell.outputs = [error_output(*self._stopped)]
            return cell, resources
        self._sources.append(cell.source)
        test = self.judge and self._is_test_cell(cell, resources)
        source = cell.source
        if test:                         # the kernel runs the visible asserts only
            cell.source = remove_hidden_tests(source)
        t = monotonic()
        try:
            cell, resources = self._run_cell(cell, resources, index)
        finally:
            cell.source = source
            self.notes.add_time("execute", monotonic() - t)
        if test:
            t = monotonic()
            self._judge(cell, resources, index)
            self.notes.add_time("checks", monotonic() - t)
        return cell, resources

    # -- the grader's verdict ------------------------------------------------------------
    def _judge(self, cell, resources, index):
        """Replace a test cell's outputs by the verdict of its hidden check, run here."""
        problem = [o for o in cell.outputs
                   if o.get("output_type") == "error" and o.get("ename") in PROBLEM_ENAMES + (NOT_RUN,)]
        if problem or self._stopped is not None:   # timed out / kernel died: no check can run
            cell.outputs = problem[:1] or [error_output(*self._stopped)]
            return
        gid = cell.metadata.nbgrader.get("grade_id", "")
        call = self._hidden_call(resources, gid)
        if call is None:
            self.log.error("test cell %s has no hidden check in %s", gid, self.source_dir)
            cell.outputs = [error_output(CHECK_FAILED, NO_CHECK_MESSAGE)]
            return
        deadline = min(self._deadline, monotonic() + (self.timeout or self.notebook_timeout))
        visible_failed = any(o.get("output_type") == "error" for o in cell.outputs)
        self._in_kernel = 0.0                # seconds the check waited for the kernel
        self._call_output = 0
        verdict = run_check(call, Student(self._transport, deadline, self.max_reply_bytes))
        took = self._in_kernel
        if took > self.slow_check and not verdict.flag:
            self.notes.flags.append({"notebook": (resources or {}).get("unique_key", ""),
                                     "cell": gid or f"cell {index}", "kind": "slow",
                                     "detail": f"the grader's calls into the kernel took {took:.0f} s "
                                               f"(SLOW_CHECK_S = {self.slow_check})"})
        if visible_failed and verdict.passed:
            self.notes.visible_only.append(gid)
        cell.outputs = [] if verdict.passed else [
            error_output(verdict.ename, self._check_message(verdict.message))]
        if self._call_output > self.max_output_chars:
            log.warning("the kernel printed %d bytes during the grader's calls in %s (dropped)",
                        self._call_output, gid or f"cell {index}")
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout",
                                             text=CALL_OUTPUT_CUT.format(mb=self._call_output / 2**20)))
        if verdict.flag:
            self.notes.flags.append({"notebook": (resources or {}).get("unique_key", ""),
                                     "cell": gid or f"cell {index}", "kind": verdict.flag,
                                     "detail": verdict.message[:300]})
        if verdict.flag == "died" or self._killed:
            self._stopped = (NOT_RUN, "前のセルの採点中にカーネルが停止したため、"
                             "このセルは実行されませんでした。")

    def _check_message(self, message):
        """A failed check's message within MAX_CHECK_MESSAGE_CHARS and what is left of the
        notebook's output budget (then its first line only)."""
        limit = self.max_check_message_chars
        if self._notebook_output + limit > self.max_notebook_output_chars:
            limit = min(limit, SHORT_MESSAGE)
        if len(message) > limit:
            log.warning("a check's message of %d characters was cut to %d", len(message), limit)
            message = shorten(message, limit)
        self._notebook_output += 2 * len(message)          # evalue and traceback
        return message

    def _is_test_cell(self, cell, resources):
        """A test cell by the submission's metadata, or by the trusted source: a cell whose
        grade_id is a test cell there is judged whatever the student made of its metadata."""
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if is_autograded_test(cell):
            return True
        try:
            return gid is not None and gid in hidden_calls(self._source_notebook(resources))
        except (OSError, ValueError):
            return False

    def _source_notebook(self, resources):
        meta = (resources or {}).get("nbgrader", {})
        return Path(self.source_dir) / meta.get("assignment", "") / f"{meta.get('notebook', '')}.ipynb"

    def _hidden_call(self, resources, grade_id):
        try:
            return hidden_calls(self._source_notebook(resources)).get(grade_id)
        except (OSError, ValueError):
            return None

    def _transport(self, request, deadline):
        started = monotonic()
        try:
            return run_sync(self._async_rpc)(request, deadline)
        finally:
            self._in_kernel = getattr(self, "_in_kernel", 0.0) + monotonic() - started

    async def _async_rpc(self, request, deadline):
        """Send one request to the kernel's call server; the reply text (or KernelProblem)."""
        if self._killed or self.kc is None:
            raise KernelProblem("died", "カーネルが停止しているため採点できませんでした。")
        msg_id = self.kc.execute(SERVE.format(request=request), silent=True, store_history=False,
                                 user_expressions={"r": REPLY}, allow_stdin=False)
        shell, iopub = self.kc.shell_channel, self.kc.iopub_channel
        poller = zmq.asyncio.Poller()
        poller.register(shell.socket, zmq.POLLIN)
        poller.register(iopub.socket, zmq.POLLIN)
        while True:
            remaining = deadline - monotonic()
            if remaining <= 0:
                await ensure_async(self.km.interrupt_kernel())
                killed = await self._kill_if_unresponsive()
                raise KernelProblem("timeout", "採点のための関数呼び出しが時間内に終わりませんでした"
                                    f"{' (カーネルを停止しました)' if killed else ''}。"
                                    + slow_training_hint(self._sources))
            ready = dict(await poller.poll(timeout=int(min(remaining, 1.0) * 1000)))
            if iopub.socket in ready:          # output during the call: dropped as it comes
                await self._drain(iopub.socket)
            if shell.socket not in ready:
                if not ready and not await ensure_async(self.km.is_alive()):
                    self._killed = True
                    raise KernelProblem("died", "採点のための関数呼び出しの途中でカーネルが停止しました"
                                        " (メモリの使いすぎ、os._exit など)。")
                continue
            msg = await ensure_async(shell.get_msg(timeout=0))
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            content = msg.get("content", {})
            answer = content.get("user_expressions", {}).get("r", {})
            text = answer.get("data", {}).get("text/plain", "") if isinstance(answer, dict) else ""
            match = _REPLY_TEXT.fullmatch(text) if content.get("status") == "ok" and \
                isinstance(text, str) else None
            if match is None:
                raise KernelProblem("protocol", "採点の問い合わせにカーネルが答えませんでした。"
                                    "採点用の仕組み (IPython の設定、__nncourse__ など) を"
                                    "書き換えていませんか？")
            return match.group(1)

    async def _drain(self, socket):
        """Read and drop what is waiting on ``socket`` (never parsed; its size counted)."""
        while True:
            try:
                frames = await socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            self._call_output += sum(len(f) for f in frames)

    def _run_cell(self, cell, resources, index):
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            msg = ("このセルの実行中にカーネルが停止しました (メモリの使いすぎ、os._exit、"
                   "CPU 時間の上限など)。")
            if self._killed:
                msg = timeout_message(self.timeout, False, self._sources) + KILLED_NOTE
            cell.outputs = list(cell.get("outputs", [])) + [error_output(KERNEL_DIED, msg)]
            self._stopped = (NOT_RUN, "前のセルでカーネルが停止したため、このセルは実行されませんでした。")
            return cell, resources
        except CellTimeoutError:       # the kernel did not answer even after an interrupt
            msg = timeout_message(self.timeout, False, self._sources)
            if self._killed:
                msg += KILLED_NOTE
            cell.outputs = list(cell.get("outputs", [])) + [error_output(CELL_TIMEOUT, msg)]
            self._stopped = self._stopped or (
                NOT_RUN, "前のセルが止まらなかったため、このセルは実行されませんでした。")
            return cell, resources


def _output_size(msg):
    """Roughly how many characters an iopub output message adds to the notebook (data that
    is not text, e.g. application/json, by the length of its JSON)."""
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        return len(content.get("text", ""))
    data = content.get("data") or {}
    return sum(len(v) if isinstance(v, str) else len(json.dumps(v, default=str))
               for v in data.values()) + len(str(content.get("evalue", ""))) + sum(
        len(t) for t in content.get("traceback", []) or [] if isinstance(t, str))

