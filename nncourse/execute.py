"""Notebook execution while grading: a time budget per notebook on top of nbgrader's per-cell
timeout, plain Japanese messages when time runs out or the kernel dies, and the gradebook
lock released while the kernel runs.
"""
import hashlib
import json
import re
import secrets
from pathlib import Path
from queue import Empty
from time import monotonic, sleep

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat.notebooknode import NotebookNode
from traitlets import Integer

from nbgrader import utils as nbutils
from nbgrader.preprocessors import Execute

from .lock import GRADEBOOK_LOCK

# error names written into cell outputs (read back by results.py)
CELL_TIMEOUT = "CellTimeoutError"
NOTEBOOK_TIMEOUT = "NotebookTimeoutError"
KERNEL_DIED = "KernelDiedError"
NOT_RUN = "NotExecutedError"
PROBLEM_ENAMES = (CELL_TIMEOUT, NOTEBOOK_TIMEOUT, KERNEL_DIED)
KERNEL_START_ATTEMPTS = 3     # jupyter_client's free-port choice can race other processes
KILLED_NOTE = " 中断 (interrupt) に応じなかったため、カーネルを停止しました。"
INTERRUPT_GRACE_S = 15        # after a timeout's interrupt, the kernel has this long to answer (a busy machine can be slow)
# run first in every test cell: undo a student's monkeypatching of NumPy (kernel_boot.py)
TEST_PRELUDE = "__import__('_nncourse_boot').restore_numpy()  # nncourse"
# the grading guard (kernel_boot.Guard): files in the kernel's folder, and what it found
GUARD_TOKENS = "guard-tokens"
GUARD_VIOLATIONS = "guard-violations.jsonl"
GUARD_FLAGS = []       # {notebook, cell, kind, detail} of this process's executions (worker.py)
_HIDDEN_BEGIN = ("BEGIN HIDDEN TESTS", "BEGIN ALWAYS HIDDEN TESTS")
_HIDDEN_END = ("END HIDDEN TESTS", "END ALWAYS HIDDEN TESTS")
OUTPUT_CUT = ("\n[出力が多すぎるため、ここから先の出力は採点では省略しました "
              "(1 セルあたり {limit:,} 文字まで)]\n")

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


def guard_hidden_tests(source, token):
    """The source to execute: each hidden-test region runs between the guard's unlock (with a
    one-time ``token``) and lock; everything else is unchanged."""
    out, region, indent = [], None, ""

    def close():
        body = [ln for ln in region if ln.strip()]
        out.append(f"{indent}__nncourse_guard__.unlock({token!r})")
        out.append(f"{indent}try:")
        out.extend(f"{indent}    {ln[len(indent):] if ln.startswith(indent) else ln.lstrip()}"
                   for ln in body)
        if not body:
            out.append(f"{indent}    pass")
        out.extend([f"{indent}except BaseException as __nncourse_exc__:",
                    f"{indent}    __nncourse_guard__.lock(__nncourse_exc__)",
                    f"{indent}    raise",
                    f"{indent}else:",
                    f"{indent}    __nncourse_guard__.lock()"])

    for line in source.split("\n"):
        if region is None and any(m in line for m in _HIDDEN_BEGIN):
            region, indent = [], line[:len(line) - len(line.lstrip())]
            out.append(line)
        elif region is not None and any(m in line for m in _HIDDEN_END):
            close()
            region = None
            out.append(line)
        elif region is not None:
            region.append(line)
        else:
            out.append(line)
    if region is not None:            # no END marker: guard to the end of the cell
        close()
    return "\n".join(out)


def error_output(ename, evalue):
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"\x1b[0;31m{ename}\x1b[0m: {evalue}"])


class BudgetedExecute(Execute):
    """nbgrader's Execute with a whole-notebook time budget and graceful kernel death.

    Cells that cannot run any more (budget used up, kernel dead) get an error output saying
    why, so the test cells after them score 0 with a message instead of the notebook failing.
    """

    notebook_timeout = Integer(600, help="Seconds all cells of one notebook may take.").tag(
        config=True)
    max_output_chars = Integer(100_000, help="Output characters kept per cell while it runs "
                               "(the rest is dropped, so a huge print cannot fill the grader's "
                               "memory).").tag(config=True)
    test_prelude = Integer(1, help="1: run TEST_PRELUDE first in every test cell.").tag(
        config=True)

    def __init__(self, *args, **kwargs):
        from .sandbox import SandboxedKernelManager
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = monotonic() + self.notebook_timeout
        self._stopped = None          # (ename, message) once cells can no longer run
        self._sources = []            # code executed so far (for the timeout hint)
        self._output_used = {}        # cell index -> output characters received
        self._killed = False          # True once a kernel ignored an interrupt and was killed
        with GRADEBOOK_LOCK.released():
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
        size = 0 if msg.get("msg_type") == "error" else _output_size(msg)
        used = self._output_used.get(cell_index, 0)
        self._output_used[cell_index] = used + size
        if used + size <= self.max_output_chars:
            return super().output(outs, msg, display_id, cell_index)
        if used <= self.max_output_chars:      # the first output over the limit: say so once
            note = NotebookNode(output_type="stream", name="stdout",
                                text=OUTPUT_CUT.format(limit=self.max_output_chars))
            outs.append(note)
        return None

    def preprocess_cell(self, cell, resources, index):
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
        source = cell.source
        from .sandbox import booted
        run = source
        guard = self._guard_dir()
        if guard is not None and any(m in source for m in _HIDDEN_BEGIN):
            token = secrets.token_hex(16)
            (guard / GUARD_TOKENS).write_text(hashlib.sha256(token.encode()).hexdigest() + "\n",
                                              encoding="ascii")
            run = guard_hidden_tests(source, token)
        if (self.test_prelude and booted() and nbutils.is_grade(cell)
                and not nbutils.is_solution(cell)):
            run = TEST_PRELUDE + "\n" + run
        cell.source = run
        try:
            return self._run_cell(cell, resources, index)
        finally:
            cell.source = source
            if guard is not None:
                self._collect_violations(guard, cell, index, resources)

    def _guard_dir(self):
        """The kernel's folder when its guard is on (sandboxed kernels only), else None."""
        from .sandbox import sandboxed
        folder = getattr(getattr(self, "km", None), "_kerneldir", None)
        return Path(folder) if folder is not None and sandboxed() else None

    def _collect_violations(self, guard, cell, index, resources):
        """Spend any unused token; move what the guard recorded into ``GUARD_FLAGS``."""
        try:
            (guard / GUARD_TOKENS).write_text("", encoding="ascii")
            path = guard / GUARD_VIOLATIONS
            lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
            path.write_text("", encoding="utf-8")
        except OSError:
            return
        meta = cell.metadata.get("nbgrader", {})
        where = meta.get("grade_id") or f"cell {index}"
        notebook = (resources or {}).get("unique_key", "")
        for line in lines:
            try:
                rec = json.loads(line)
            except ValueError:
                rec = {"kind": "unknown", "detail": line[:300]}
            GUARD_FLAGS.append({"notebook": notebook, "cell": where,
                                "kind": str(rec.get("kind")), "detail": str(rec.get("detail"))})

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
    """Roughly how many characters an iopub output message adds to the notebook."""
    content = msg.get("content", {})
    if msg.get("msg_type") == "stream":
        return len(content.get("text", ""))
    data = content.get("data") or {}
    return sum(len(v) if isinstance(v, str) else 100 for v in data.values()) + len(
        "".join(content.get("traceback", []) or []))


def grading_config(c, course):
    """nncourse's additions to the nbgrader config (used by ``Course.nbgrader_config``)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, IgnorePattern,
                                        LimitOutput, SaveAutoGrades)
    c.Autograde.autograde_preprocessors = [
        BudgetedExecute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
        SaveAutoGrades, AssignLatePenalties, CheckCellMetadata]
    c.BudgetedExecute.timeout = int(course.setting("CELL_TIMEOUT_S", 120))
    c.BudgetedExecute.notebook_timeout = int(course.setting("NOTEBOOK_TIMEOUT_S", 600))
    c.BudgetedExecute.interrupt_on_timeout = True
    c.BudgetedExecute.max_output_chars = 10 * int(course.setting("MAX_OUTPUT_CHARS", 10_000))
    return c
