"""The shared check helpers: messages, tolerances, calls through the call protocol, and how
a failure looks in the graded notebook."""
import numpy as np
import pytest

from autograders.compare import (TOLERANCES, CheckFailed, assert_close, assert_unchanged,
                                 call_many, call_student, value_of)
from nncourse.kernel.local import local_student, remotes


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

    def stub():
        raise NotImplementedError()

    def noisy():
        import sys
        import warnings
        print("debug", file=sys.stderr)
        warnings.warn("careful")
        return np.log(np.zeros(2))               # RuntimeWarning: divide by zero
    buggy, stub, noisy = remotes(buggy=buggy, stub=stub, noisy=noisy)
    with pytest.raises(CheckFailed, match="TypeError: 'tuple' object is not callable") as e:
        call_student("cross_entropy_error", buggy, np.zeros(3), desc="y = [0, 0, 0]")
    assert str(e.value).startswith("[採点] cross_entropy_error: ")
    assert "入力: y = [0, 0, 0]" in str(e.value)
    with pytest.raises(CheckFailed, match="まだ実装されていません") as e:
        call_student("f", stub)
    assert "入力" not in str(e.value)
    assert call_student("f", noisy).tolist() == [-np.inf, -np.inf]
    assert capfd.readouterr().err == ""           # no warning nor print reached stderr
    with pytest.raises(TypeError, match="Remote"):
        call_student("f", lambda: 1)              # the student's code is only ever a Remote


def test_call_many_returns_each_result_or_its_failure():
    square, broken = remotes(square=lambda x: x * x, broken=lambda x: x.nope)
    student = square.student
    results = call_many("f", [(square, (3,), "x = 3"), (broken, (np.ones(2),), "x = ones"),
                              (square, (np.arange(3),), "x = arange")])
    assert student.calls == 1                     # one round trip
    assert results[0] == 9 and results[2].tolist() == [0, 1, 4]
    assert isinstance(results[1], CheckFailed) and "AttributeError" in str(results[1])
    assert "入力: x = ones" in str(results[1])
    assert call_many("f", []) == []


def test_value_of_reads_a_variable_or_says_it_is_not_defined():
    student = local_student({"arrows": np.zeros((2, 2))})
    assert value_of("g", student["arrows"]).shape == (2, 2)
    with pytest.raises(CheckFailed, match="points が定義されていません"):
        value_of("g", student["points"])


def test_assert_unchanged():
    with pytest.raises(CheckFailed, match="書き換えて"):
        assert_unchanged("numerical_gradient", np.array([3.0, 4.0]), np.array([3.0, 4.0001]), "x")


def test_a_failed_check_shows_only_its_message_in_the_notebook():
    """The grader runs the check and writes its verdict as the test cell's one error output:
    CheckFailed with the Japanese message, no traceback, no code of the check."""
    from nncourse.kernel.checks import CHECK_FAILED, HiddenCall, run_check
    from nncourse.kernel.execute import error_output
    call = HiddenCall("a1_loss", "check_sum_squared_error", (("name", "sum_squared_error"),))
    student = local_student({"sum_squared_error": lambda y, t: np.sum((y - t) ** 2)})
    verdict = run_check(call, student)
    assert not verdict.passed and verdict.ename == CHECK_FAILED
    out = error_output(verdict.ename, verdict.message)
    assert out.output_type == "error" and out.ename == "CheckFailed"
    text = "\n".join(out.traceback)
    assert "期待値: 0.09125" in text and "あなたの値: 0.1825" in text and "ヒント: 1/2" in text
    assert "assert_close(" not in text and "compare.py" not in text   # no code, no traceback
    assert "Traceback" not in text
    assert run_check(call, local_student({"sum_squared_error": lambda y, t:
                                          0.5 * np.sum((y - t) ** 2)})).passed
