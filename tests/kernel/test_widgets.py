"""ipywidgets while a notebook is graded or checked (``nncourse/kernel/execute.py``).

a3's explorer (``ipywidgets.interact``) draws into an Output widget.  nbclient's stand-in
for that widget echoed every output back to the kernel on the shell socket while the reply
poll waited on the same socket, and the poll could then miss the cell's reply until the
cell's timeout ran out (jupyter/nbclient#312): the catalogue's grading of one a3 mutant took
125 s instead of 5.  Measured with nbclient's stand-in on 100 such cells: 3 and 10 of them
waited out the timeout; with the grader's (no echo): none in either run.
"""
import datetime as dt

import nbformat
import pytest

from nncourse.kernel.execute import BudgetedExecute

CELL_TIMEOUT_S = 20       # a stall waits this long; a cell here takes milliseconds
WIDGET_CELLS = 100


def _stamp(text):
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_output_widget_cells_do_not_wait_out_the_timeout(tmp_path):
    pytest.importorskip("ipywidgets")
    new = nbformat.v4.new_code_cell
    cells = [new("import ipywidgets as w\nfrom IPython.display import display")]
    for _ in range(WIDGET_CELLS):
        cells += [new("out = w.Output()\ndisplay(out)\nwith out:\n    for i in range(50): print(i)"),
                  new("x = 1")]
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ex = BudgetedExecute(timeout=CELL_TIMEOUT_S, notebook_timeout=100 * CELL_TIMEOUT_S, judge=False)
    ex.preprocess(nb, {"metadata": {"path": str(tmp_path)}})   # the sandboxed kernel, as in grading

    errors = [o for c in nb.cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors[:3]
    # the time from a cell's reply (the kernel's clock) to the next cell's start: a stall is
    # the whole cell timeout, a normal step milliseconds
    waits = []
    for before, after in zip(nb.cells, nb.cells[1:]):
        reply = before.metadata["execution"]["shell.execute_reply"]
        start = after.metadata["execution"]["iopub.execute_input"]
        waits.append((_stamp(start) - _stamp(reply)).total_seconds())
    stalls = [round(w, 1) for w in waits if w >= 0.75 * CELL_TIMEOUT_S]
    assert not stalls, f"{len(stalls)} of {len(waits)} cells waited out the timeout: {stalls}"
    # what the widgets printed is kept in their saved state, as a front end keeps it
    outputs = [o for s in ex.widget_state.values() for o in s.get("outputs", [])]
    assert len(outputs) == WIDGET_CELLS
    assert all(o["text"].split() == [str(i) for i in range(50)] for o in outputs)
