"""The call protocol between the grader and a grading kernel (nncourse/kernel/): the wire
format's limits, the grader's proxies, and how a test cell names its hidden check."""
import base64
import io
import json
import types

import numpy as np
import pytest

import autograders.testfuncs as testfuncs
from nncourse.kernel import kernel_boot, wire
from nncourse.kernel.checks import HiddenTestError, parse_hidden, source_problems
from nncourse.kernel.local import local_student, remotes
from nncourse.kernel.student import KernelProblem, Remote, Student, StudentError
from conftest import ROOT, assignments


def roundtrip(value):
    return wire.decode(wire.loads(wire.dumps(wire.encode(value, keep=lambda o: 7))))


def test_plain_data_crosses_unchanged():
    value = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": [1, 2.5, None, True, "文字"],
             "c": (np.int64(3), np.float64("nan"), float("inf")), "d": np.array(True)}
    got = roundtrip(value)
    assert got["a"].dtype == np.float32 and got["a"].tolist() == value["a"].tolist()
    assert got["b"] == [1, 2.5, None, True, "文字"]
    assert isinstance(got["c"], tuple) and got["c"][0] == 3 and np.isnan(got["c"][1])
    assert got["c"][2] == float("inf") and got["d"].dtype == np.bool_


def test_objects_stay_in_the_kernel():
    class Net:
        pass
    got = roundtrip([Net(), np.array([object()], dtype=object)])
    assert [type(g).__name__ for g in got] == ["KernelObject", "KernelObject"]
    assert got[0].type_name == "Net" and got[0].ref == 7 and got[1].type_name == "ndarray"


def _npy_b64(a, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=allow_pickle)
    return base64.b64encode(buf.getvalue()).decode()


@pytest.mark.parametrize("data,why", [
    ({"npy": _npy_b64(np.array([{"x": 1}], dtype=object), allow_pickle=True)}, "not a plain"),
    ({"npy": _npy_b64(np.zeros(2, dtype=[("a", "f8")]))}, "not numeric"),
    ({"npy": _npy_b64(np.array(["text"]))}, "not numeric"),
    ({"npy": "!!!not base64"}, "not a plain"),
    ({"float": "1e400"}, "malformed"),
    ({"list": [{"list": [{"list": [{"list": [{"list": [{"list": [{"list": [{"list": [
        {"list": [{"list": [1]}]}]}]}]}]}]}]}]}]}, "deeply"),
    ({"list": list(range(wire.MAX_ITEMS + 1))}, "too large"),
    ({"eval": "__import__('os')"}, "malformed"),
])
def test_the_grader_refuses_what_is_not_plain_data(data, why):
    with pytest.raises(wire.WireError, match=why):
        wire.decode(data)


def test_replies_over_the_size_limit_are_refused(monkeypatch):
    monkeypatch.setattr(wire, "MAX_REPLY_BYTES", 1000)
    with pytest.raises(wire.WireError, match="too large"):
        wire.loads(wire.dumps({"x": "a" * 2000}))


@pytest.mark.parametrize("value, kind", [
    (np.zeros(10**7), "ndarray"),                          # 80 MB, over MAX_ARRAY_BYTES
    ("x" * (wire.MAX_STRING_CHARS + 1), "str"),
    ([1.5] * (wire.MAX_ARRAY_BYTES // 8 + 1), "list"),
])
def test_a_value_too_large_to_send_fails_the_check_with_its_reason(value, kind):
    """The kernel sends ``too_large`` instead of the value; the grader raises KernelProblem
    ``too_large`` (a clear per-check failure), never a protocol error."""
    f, = remotes(f=lambda: value)
    with pytest.raises(KernelProblem) as info:
        f.call()
    assert info.value.kind == "too_large"
    assert f"返された値 ({kind}、" in info.value.message and "大きすぎる" in info.value.message


def test_values_that_together_exceed_the_reply_limit_are_refused_not_sent():
    """Each value is small, but the second would take the reply over the server's
    ``max_reply`` (the course's MAX_REPLY_BYTES): it crosses as ``too_large``, and the reply
    stays within the limit the grader reads."""
    server = kernel_boot.Server(types.SimpleNamespace(user_ns={"f": lambda: np.ones(1000)}),
                                wire, testfuncs, max_reply=25_000)
    sent = []

    def transport(request, deadline):
        server.serve(request)
        sent.append(len(server.reply))
        return server.reply

    student = Student(transport, deadline=float("inf"), max_reply=25_000)
    f = student["f"]
    assert f.call().tolist() == [1.0] * 1000                 # one fits
    with pytest.raises(KernelProblem) as info:
        student.run([f.op(), f.op()])
    assert info.value.kind == "too_large"
    assert max(sent) <= 25_000


def test_remote_calls_values_attributes_and_mutated_arguments():
    class Net:
        def __init__(self, n):
            self.params = {"W": np.ones(n)}

        def predict(self, x):
            return x @ self.params["W"]

    def bump(x):
        x += 1
        return "done"

    student = local_student({"Net": Net, "bump": bump, "dW": np.eye(2), "boom": lambda: 1 / 0})
    net = student["Net"].call(3)
    assert isinstance(net, Remote) and net.label == "Net"
    assert net.attr("predict").call(np.array([1.0, 2.0, 3.0])) == 6.0
    net.attr("params").item("W").set(np.array([0.0, 0.0, 1.0]))
    assert net.attr("params").value()["W"].tolist() == [0.0, 0.0, 1.0]
    value, (x,) = student["bump"].call_with_args(np.zeros(2))
    assert value == "done" and x.tolist() == [1.0, 1.0]
    assert student["dW"].value().tolist() == [[1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(StudentError) as info:
        student["boom"].call()
    assert info.value.etype == "ZeroDivisionError"
    with pytest.raises(StudentError, match="NameError"):
        student["missing"].value()
    results = student.run([student["bump"].op(np.zeros(1)), student["boom"].op()])
    assert results[0] == "done" and isinstance(results[1], StudentError)


def test_the_kernel_keeps_numpy_random_state_across_the_graders_calls():
    np.random.seed(0)
    expected = np.random.rand()
    np.random.seed(0)
    f, = remotes(f=lambda: np.random.rand(5))
    f.call()
    assert np.random.rand() == expected


def test_a_reply_to_another_request_is_a_protocol_problem():
    replies = []

    def transport(request, deadline):
        rid = json.loads(base64.b64decode(request))["id"]
        return wire.dumps({"id": rid + 1, "results": [{"ok": True, "value": 1}]}) if not replies \
            else "not base64!"
    student = Student(transport, deadline=float("inf"))
    with pytest.raises(KernelProblem) as info:
        student["f"].call()
    assert info.value.kind == "protocol"
    replies.append(1)
    with pytest.raises(KernelProblem):
        student["f"].call()


@pytest.mark.parametrize("source", [
    "from autograders import a1_loss\na1_loss.check_sum_squared_error(sum_squared_error)",
    "import autograders\nautograders.check_square(square)",
    "from autograders import a4_two_layer_net as m\nm.check_training_result(network, 3, 'x')",
])
def test_hidden_tests_name_one_check(source):
    call = parse_hidden(f"assert True\n### BEGIN HIDDEN TESTS\n{source}\n### END HIDDEN TESTS\n")
    assert call.function.startswith("check_") and call.args


@pytest.mark.parametrize("source", [
    "import os\nos.system('true')",
    "from autograders import a1_loss\na1_loss.check_sum_squared_error(open('x').read())",
    "from autograders import a1_loss\nx = 1\na1_loss.check_sum_squared_error(x)",
    "from autograders import a1_loss\na1_loss.check_a(f)\na1_loss.check_b(f)",
    "from autograders import a1_loss\na1_loss.check_a(f=f)",
])
def test_anything_else_in_hidden_tests_is_refused(source):
    with pytest.raises(HiddenTestError):
        parse_hidden(f"### BEGIN HIDDEN TESTS\n{source}\n### END HIDDEN TESTS\n")


@pytest.mark.parametrize("aid,notebook", assignments(), ids=lambda v: getattr(v, "name", v))
def test_every_test_cell_of_the_course_names_an_existing_check(aid, notebook):
    assert source_problems(notebook, ROOT / "autograders") == []


def test_random_hidden_inputs_depend_on_a_secret_seed(tmp_path):
    from autograders import compare
    from nncourse.core.course import Course, copy_course
    from nncourse.grade.inputs import submission_seed
    fixed = compare.rng(1).random(3)
    course = Course.load(copy_course(ROOT, tmp_path / "c"))
    seeds = {submission_seed(course, fp) for fp in ("a", "b")}
    assert len(seeds) == 2 and submission_seed(course, "a") in seeds      # stable per submission
    try:
        compare.set_submission_seed(submission_seed(course, "a"))
        secret = compare.rng(1).random(3)
    finally:
        compare.set_submission_seed(None)
    assert not np.allclose(fixed, secret) and np.allclose(compare.rng(1).random(3), fixed)
    assert (course.state_dir / "grading-secret").stat().st_mode & 0o077 == 0
