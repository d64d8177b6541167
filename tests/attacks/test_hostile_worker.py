"""What one student's code prints or returns costs only that student: the worker (issue #16).

One ``nncourse grade`` run (Python API, local worker processes, the real nbgrader pipeline and
sandboxed kernels) on a copy of the toy course grades an honest victim beside students whose
code floods the grader:

- ``atk_call_print``: ``square`` sends ~1 GB of output (1,000 messages of 1 MB, straight to
  the kernel's output socket, past the kernel's own cap) each time the grader calls it;
- ``atk_call_huge_message``: ``square`` sends 10 MB output messages when the grader calls it
  (over the grader's per-message limit: never received);
- ``atk_big_array`` / ``atk_big_string``: ``square`` returns a 10**7-element array / a 100 MB
  string where a number is expected, when the grader calls it;
- ``atk_long_message``: ``square`` returns a 500,000-character string (within the reply
  limit): the toy check quotes it whole in its message (``f"... 実際 {got!r}"``);
- ``atk_endless``: a last cell prints forever (print, and 1 MB messages sent past the
  kernel's cap) until the cell's time limit;
- ``atk_many_cells``: 40 cells printing 90,000 characters each (each under the per-cell cap,
  together over the notebook's);
- ``atk_uncapped_error``: undoes the kernel's own message cap, then raises an error with a
  5 MB message (its output message is over the grader's limit and never arrives; the cell's
  reply, which nbgrader adds as the cell's error, does);
- ``odd_big_outputs`` (honest but odd): a cell raising an error with a 3 MB message and one
  displaying 3 MB, each over the grader's per-message limit: the kernel sends a note instead,
  so the outputs of the cells after them still arrive.

The worker's peak memory is read from ``/proc/<worker>/status`` (VmHWM, the kernel's own
high-water mark of the process's resident memory) while the run goes.  Measured on this
machine: 183-191 MB for the two workers of this run; the same test on the code before these
bounds: 1,109 MB and 525 MB (and a 40 MB string returned to the toy check, which quotes it,
made a 42 MB feedback page and an 80 MB autograded notebook).
"""
import os
import threading
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import build
from nncourse.cohort import reference_submission

from nncourse.grade.run import grade, load_result

TOY = Path(__file__).resolve().parents[1] / "fixtures" / "toy_course"
AID = "t1_square"
FULL = 5.0                           # test_square 3 + test_mean 2 (answer_why is graded by hand)
TEST_SETTINGS = """
CELL_TIMEOUT_S = 20                       # (test) the endless cell is stopped after this
NOTEBOOK_TIMEOUT_S = 120
"""
WORKER_PEAK_BOUND_MB = 300           # the worker's peak RSS; measured ~170 MB
NOTEBOOK_OUTPUT_CHARS = 1_000_000    # MAX_NOTEBOOK_OUTPUT_CHARS (default)
# what a page may add to the victim's: the notebook's outputs in UTF-8 (up to 3 bytes a
# character) and escaped (JSON in the notebook, HTML in the page)
PAGE_BOUND = 4 * NOTEBOOK_OUTPUT_CHARS
GRADER_CALL = "type(__import__('sys').stdout).__name__ == '_Sink'"   # inside the grader's call
SEND = ("get_ipython().kernel.session.send(get_ipython().kernel.iopub_socket, 'stream', "
        "{{'name': 'stdout', 'text': {text}}}, parent=get_ipython().kernel.get_parent())")
ONCE = "global _flooded\n    if {call} and not globals().get('_flooded'):\n        _flooded = True"
SQUARE = {
    "atk_call_print": f"""
def square(x):
    {ONCE.format(call=GRADER_CALL)}
        chunk = 'x' * 1_000_000
        for _ in range(1000):
            {SEND.format(text='chunk')}
    return x * x
""",
    "atk_call_huge_message": f"""
def square(x):
    {ONCE.format(call=GRADER_CALL)}
        chunk = 'y' * 10_000_000
        for _ in range(30):
            {SEND.format(text='chunk')}
    return x * x
""",
    "atk_big_array": f"""
import numpy as np
def square(x):
    if {GRADER_CALL}:
        return np.zeros(10**7)
    return x * x
""",
    "atk_big_string": f"""
def square(x):
    if {GRADER_CALL}:
        return 'z' * 100_000_000
    return x * x
""",
    "atk_long_message": f"""
def square(x):
    if {GRADER_CALL}:
        return 'w' * 500_000
    return x * x
""",
}
ENDLESS = ("k = get_ipython().kernel\nchunk = 'e' * 1_000_000\nwhile True:\n"
           "    print('endless ' * 1000)\n"
           "    k.session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': chunk},"
           " parent=k.get_parent())\n")
MANY = "print('m' * 90_000)"
UNCAP = ["from jupyter_client.session import Session\n"
         "Session.serialize = next(c.cell_contents for c in Session.serialize.__closure__\n"
         "                         if getattr(c.cell_contents, '__name__', '') == 'serialize')",
         "raise ValueError('u' * 5_000_000)"]
ODD = ["raise ValueError('v' * 3_000_000)",
       "from IPython.display import display\ndisplay({'text/plain': 'd' * 3_000_000}, raw=True)",
       "print('AFTER-' + 'MARKER')"]
pytestmark = pytest.mark.slow


def worker_peak(stop, peak):
    """Poll the VmHWM of this process's grading workers (children running the worker module)."""
    me = os.getpid()
    while not stop.is_set():
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    ppid = int(f.read().rsplit(b")", 1)[1].split()[1])
                if ppid != me:
                    continue
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if b"nncourse.grade.worker" not in f.read():
                        continue
                with open(f"/proc/{pid}/status", encoding="ascii") as f:
                    for line in f:
                        if line.startswith("VmHWM:"):
                            peak[pid] = max(peak.get(pid, 0), int(line.split()[1]) // 1024)
            except (OSError, ValueError, IndexError):
                continue
        stop.wait(0.1)


def put(course, student, nb):
    dest = course.submitted_dir(student, AID)
    dest.mkdir(parents=True)
    nbformat.write(nb, dest / "square.ipynb")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("hostile-worker")
    course = configured_copy(TOY, base / "course", TEST_SETTINGS)
    build(course, [AID])
    put(course, "victim", reference_submission(course, AID))
    for student, code in SQUARE.items():
        nb = reference_submission(course, AID)
        impl = next(c for c in nb.cells if "def square" in c.source)
        impl.source = code
        put(course, student, nb)
    nb = reference_submission(course, AID)
    nb.cells.append(nbformat.v4.new_code_cell(ENDLESS))
    put(course, "atk_endless", nb)
    nb = reference_submission(course, AID)
    nb.cells += [nbformat.v4.new_code_cell(MANY) for _ in range(40)]
    put(course, "atk_many_cells", nb)
    nb = reference_submission(course, AID)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in UNCAP]
    put(course, "atk_uncapped_error", nb)
    nb = reference_submission(course, AID)
    nb.cells += [nbformat.v4.new_code_cell(code) for code in ODD]
    put(course, "odd_big_outputs", nb)
    stop, peak = threading.Event(), {}
    poller = threading.Thread(target=worker_peak, args=(stop, peak), daemon=True)
    poller.start()
    try:
        run = grade(course, [AID], jobs=2, progress=False)
    finally:
        stop.set()
        poller.join()
    results = {s: load_result(course, AID, s) for s in ["victim", *SQUARE, "atk_endless",
                                                        "atk_many_cells", "atk_uncapped_error",
                                                        "odd_big_outputs"]}
    return dict(course=course, run=run, peak=peak, results=results)


def cell(result, gid):
    return next(c for c in result["cells"] if c["grade_id"] == gid)


def pages(course, student):
    """(feedback bytes, autograded notebook bytes, autograded notebook text)."""
    r = load_result(course, AID, student)
    feedback = sum((course.root / f).stat().st_size for f in r["feedback"])
    [path] = course.autograded_dir(student, AID).glob("*.ipynb")
    return feedback, path.stat().st_size, path.read_text(encoding="utf-8")


def test_worker_memory_stays_bounded(graded):
    print("worker peak MB", graded["peak"])
    assert graded["peak"], "no grading worker was seen"
    assert max(graded["peak"].values()) < WORKER_PEAK_BOUND_MB, graded["peak"]


def test_victim_keeps_full_marks_and_everyone_is_graded(graded):
    r = graded["results"]["victim"]
    assert (r["status"], r["score"]) == ("graded", FULL), r
    for student, r in graded["results"].items():
        assert r["status"] == "graded", (student, r.get("error"))


def test_output_during_the_graders_calls_is_dropped_with_a_note(graded):
    course = graded["course"]
    r = graded["results"]["atk_call_print"]
    assert r["score"] == FULL, r["cells"]          # the check still got its verdict
    text = pages(course, "atk_call_print")[2]
    assert "採点のための関数呼び出しの間に出力された" in text, text[-2000:]
    assert "出力が多すぎるため採点では省略しました" in text
    r = graded["results"]["atk_call_huge_message"]
    assert r["score"] == FULL, r["cells"]          # never received; the kernel kept running


def test_huge_return_values_fail_the_check_with_a_clear_reason(graded):
    for student, kind in (("atk_big_array", "ndarray"), ("atk_big_string", "str")):
        r = graded["results"][student]
        c = cell(r, "test_square")
        assert c["score"] == 0, c
        assert f"返された値 ({kind}、" in c["message"] and "大きすぎるため" in c["message"], c
        assert cell(r, "test_mean")["score"] == 2.0          # the rest is graded as usual
        assert [f["kind"] for f in r["flags"]] == ["too_large"], r["flags"]


def test_a_long_check_message_is_cut(graded):
    course = graded["course"]
    r = graded["results"]["atk_long_message"]
    assert cell(r, "test_square")["score"] == 0
    feedback, size, text = pages(course, "atk_long_message")
    assert "www" in text and "w" * 5000 not in text, "the message was not cut"
    victim_feedback, victim_size, _ = pages(course, "victim")
    assert size < victim_size + 20_000, size          # 2 copies of a 2,000-character message
    assert feedback < victim_feedback + 20_000, feedback


def test_endless_and_many_outputs_are_cut_while_they_arrive(graded):
    course = graded["course"]
    victim_feedback, victim_size, _ = pages(course, "victim")
    r = graded["results"]["atk_endless"]
    assert r["score"] == FULL, r["cells"]
    assert any("時間内に終わりませんでした" in p for p in r["problems"]), r["problems"]
    text = pages(course, "atk_endless")[2]
    assert "1 セルあたり 100,000 文字まで" in text
    r = graded["results"]["atk_many_cells"]
    assert r["score"] == FULL, r["cells"]
    text = pages(course, "atk_many_cells")[2]
    assert "ノートブック全体で 1,000,000 文字まで" in text
    assert text.count("m" * 90_000) <= NOTEBOOK_OUTPUT_CHARS // 90_000
    for student in graded["results"]:
        feedback, size, _ = pages(course, student)
        assert size < victim_size + PAGE_BOUND, (student, size)
        assert feedback < victim_feedback + PAGE_BOUND, (student, feedback)


def test_an_honest_output_too_large_to_send_is_a_note_and_later_outputs_arrive(graded):
    r = graded["results"]["odd_big_outputs"]
    assert r["score"] == FULL, r["cells"]
    nb = nbformat.reads(pages(graded["course"], "odd_big_outputs")[2], as_version=4)
    error, display, after = nb.cells[-3:]
    assert [o.get("ename") for o in error.outputs] == ["ValueError"], error.outputs
    assert "省略しました" in error.outputs[0]["evalue"]       # cut (kernel, then grader)
    assert "1 つの出力あたり" in str(display.outputs), display.outputs
    assert "AFTER-MARKER" in str(after.outputs), after.outputs


def test_an_error_reply_past_the_kernels_cap_is_cut(graded):
    r = graded["results"]["atk_uncapped_error"]
    assert r["score"] == FULL, r["cells"]
    nb = nbformat.reads(pages(graded["course"], "atk_uncapped_error")[2], as_version=4)
    [error] = nb.cells[-1].outputs
    assert error["ename"] == "ValueError" and "省略しました" in error["evalue"], error
    assert len(error["evalue"]) <= 50_000
