"""The shared check helpers: messages, tolerances, and how a failure looks in a notebook."""
import nbformat
import numpy as np
import pytest
from conftest import ROOT

from autograders.compare import (TOLERANCES, CheckFailed, assert_close, assert_unchanged,
                                 call_student)


def test_assert_close_checks_shape_kind_nan_then_values():
    with pytest.raises(CheckFailed, match="shape"):
        assert_close("f", np.zeros(3), np.zeros(4))
    with pytest.raises(CheckFailed, match="dtype"):
        assert_close("f", np.array([1, 2]), np.array([1.5, 2.0]))
    with pytest.raises(CheckFailed, match="NaN"):
        assert_close("f", np.array([np.nan]), np.array([1.0]))
    with pytest.raises(CheckFailed, match="inf"):
        assert_close("f", np.inf, 1.0)
    with pytest.raises(CheckFailed, match="return"):
        assert_close("f", None, 1.0)
    with pytest.raises(CheckFailed, match="期待値: 0.09125") as e:
        assert_close("sum_squared_error", 0.1825, 0.09125, desc="y1, t",
                     hint=lambda g, x: "1/2" if np.isclose(g, 2 * x) else None)
    assert "ヒント: 1/2" in str(e.value) and "入力: y1, t" in str(e.value)
    # lists and float32 answers within the named tolerance pass
    assert_close("f", [0.1, 0.2], np.array([0.1, 0.2]))
    assert_close("f", np.float32(0.1), 0.1, tol="float32")
    assert set(TOLERANCES) >= {"exact", "float", "numerical"}


def test_call_student_turns_exceptions_and_warnings_into_feedback(capfd):
    def buggy(y):
        return y.shape(0)
    with pytest.raises(CheckFailed, match="TypeError"):
        call_student("cross_entropy_error", buggy, np.zeros(3))
    with pytest.raises(CheckFailed, match="NotImplementedError|実装されていません"):
        call_student("f", lambda: (_ for _ in ()).throw(NotImplementedError()))
    assert call_student("f", lambda: np.log(np.zeros(2))).tolist() == [-np.inf, -np.inf]
    assert capfd.readouterr().err == ""           # no RuntimeWarning reached stderr


def test_assert_unchanged():
    with pytest.raises(CheckFailed, match="書き換えて"):
        assert_unchanged("numerical_gradient", np.array([3.0, 4.0]), np.array([3.0, 4.0001]), "x")


def test_a_failed_check_shows_only_its_message_in_the_notebook(tmp_path):
    """In a kernel, CheckFailed is an error output with the Japanese message, no traceback."""
    from nbclient import NotebookClient
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import sys; sys.path.insert(0, %r)\n"
        "from autograders.compare import assert_close\n"
        "assert_close('sum_squared_error', 0.1825, 0.09125, desc='スライドの y1')" % str(ROOT))])
    NotebookClient(nb, timeout=60, kernel_name="python3", allow_errors=True).execute()
    (out,) = nb.cells[0].outputs
    assert out.output_type == "error" and out.ename == "CheckFailed"
    text = "\n".join(out.traceback)
    assert "期待値: 0.09125" in text and "あなたの値: 0.1825" in text
    assert "assert_close(" not in text and "compare.py" not in text   # no code, no traceback
