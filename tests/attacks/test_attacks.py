"""The attack catalogue (autograders/catalogue/attacks.toml) through the real pipeline (issue #8).

One ``nncourse.grade.run.grade(course, ["a1_loss"], jobs=2)`` run grades every attack next to an
honest student (the reference), a blank one (the untouched release) and two honest victims,
on a copy of the course with canaries planted in the secrets (reference/, the hidden checks,
a file in the course root, two other checkouts of the course) and a TCP server of the test
on 127.0.0.1.  These tests state the REQUIRED behaviour: an attack gains no point, reads
nothing secret, changes no file and no other student's grade, and leaves no process behind.
"""
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import configured_copy

from autograders.catalogue.attacks import ASSIGNMENT, attack_notebook, load
from nncourse.build import ensure_built, release_notebook
from nncourse.cohort import reference_submission
from nncourse.core.course import Course, copy_course
from nncourse.grade.run import grade

ROOT = Path(__file__).resolve().parents[2]
HONEST, BLANK, VICTIMS = "honest", "blank", ["victim_1", "victim_2"]
FULL = 7.0                                   # a1_loss's autograded points (the reference)
TEST_SETTINGS = """
CELL_TIMEOUT_S = 5                        # (test) attacks that loop stop fast
NOTEBOOK_TIMEOUT_S = 90
KERNEL_MEMORY_MIB = 1536
"""
MAX_STUDENT_S = 60              # one a1 grading (honest: ~5-10 s); a held pipe added ~100 s
MAX_DISK_GROWTH = 200 * 2**20   # the attacks write 300 MB several times
MAX_FILE = 50 * 2**20
PRELUDE, ATTACKS = load()
pytestmark = pytest.mark.slow


def student_of(attack):
    return f"atk_{attack['id']}"


class CanaryServer:
    """A TCP server on 127.0.0.1 that records every connection and sends a canary."""

    def __init__(self, canary):
        self.canary, self.connections = canary, []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            try:
                conn.settimeout(1)
                conn.sendall(self.canary.encode() + b"\n")
                data = conn.recv(200)
            except OSError:
                data = b""
            self.connections.append((peer, data.decode("utf-8", "replace")))
            conn.close()


def hashes(root):
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(root).rglob("*")) if p.is_file()}


def processes_with(text):
    """[(pid, cmdline)] of the processes whose command line contains ``text``."""
    found = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace")
        except OSError:
            continue
        if text in cmd:
            found.append((int(pid), cmd.strip()[:200]))
    return found


def outputs_text(course, student):
    """Every output of the student's autograded notebook (not the sources: they hold the
    attack's own code)."""
    parts = []
    for path in course.autograded_dir(student, ASSIGNMENT).glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            for o in cell.get("outputs", []):
                parts.append(o.get("text", "") if isinstance(o.get("text"), str) else "")
                parts += [str(v) for v in (o.get("data") or {}).values()]
                parts += [str(o.get("ename", "")), str(o.get("evalue", ""))]
                parts += [str(t) for t in o.get("traceback", [])]
    return "\n".join(parts)


def feedback_text(course, result):
    return "\n".join((course.root / f).read_text(encoding="utf-8", errors="replace")
                     for f in result.get("feedback", []) if (course.root / f).is_file())


def plant(path, line):
    with open(path, "a", encoding="utf-8") as f:
        f.write(f"\n# {line}\n")


def written(course_root, marker, home=None):
    """Bytes on disk that this run's kernels could have written: the course folder's files
    and any file named after the run's marker where the disk-fill attacks aim (the /tmp
    seen from the host, /var/tmp, /dev/shm, $HOME).  Not the whole disk's usage, which
    every other process on the machine changes too.  ``home``: the grader's (default ours)."""
    total = 0
    for p in Path(course_root).rglob("*"):
        try:
            total += p.lstat().st_blocks * 512 if p.is_file() else 0
        except OSError:
            pass
    for d in ("/tmp", "/var/tmp", "/dev/shm", str(home or os.path.expanduser("~"))):
        for p in Path(d).glob(f"{marker}*"):
            try:
                total += p.lstat().st_blocks * 512
            except OSError:
                pass
    return total


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    token = secrets.token_hex(6)
    marker_base = f"NNATK-{token}"
    canaries = {k: f"CANARY-{k}-{secrets.token_hex(8)}"
                for k in ("REFERENCE", "CHECK", "ROOT", "OTHER", "OTHER2", "NET")}
    base = tmp_path_factory.mktemp("attacks")
    course_dir = configured_copy(ROOT, base / "course", TEST_SETTINGS).root
    plant(course_dir / "reference" / "losses.py", canaries["REFERENCE"])
    plant(course_dir / "autograders" / "a1_loss.py", canaries["CHECK"])
    (course_dir / "canary.txt").write_text(canaries["ROOT"] + "\n", encoding="utf-8")
    # other checkouts of the course on the machine: one outside /tmp, one in pytest's tmp
    other = Path(f"/var/tmp/nnatk-other-{token}") / "checkout"
    other2 = tmp_path_factory.mktemp("other") / "checkout"
    for where, key in ((other, "OTHER"), (other2, "OTHER2")):
        copy_course(ROOT, where)
        plant(where / "reference" / "losses.py", canaries[key])
        plant(where / "autograders" / "a1_loss.py", canaries[key])
    server = CanaryServer(canaries["NET"])
    course = Course.load(course_dir)
    ensure_built(course, [ASSIGNMENT])
    name = release_notebook(course, ASSIGNMENT).name
    subs = {HONEST: reference_submission(course, ASSIGNMENT),
            BLANK: nbformat.read(release_notebook(course, ASSIGNMENT), as_version=4)}
    for v in VICTIMS:
        subs[v] = reference_submission(course, ASSIGNMENT)
    markers = {}
    for attack in ATTACKS:
        student = student_of(attack)
        markers[attack["id"]] = f"{marker_base}-{attack['id']}"
        values = {"COURSE": course.root, "OTHER": other, "OTHER2": other2, "PORT": server.port,
                  "MARKER": markers[attack["id"]], "STUDENT": student, "RUN": marker_base}
        subs[student] = attack_notebook(course, attack, values, PRELUDE)
    for student, nb in subs.items():
        dest = course.submitted_dir(student, ASSIGNMENT)
        dest.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest / name)
    submitted = hashes(course.root / "submitted")
    protected = {d: hashes(course.root / d) for d in ("reference", "autograders", "source")}
    other_files = hashes(other) | {"2/" + k: v for k, v in hashes(other2).items()}
    disk_before = written(course.root, marker_base)
    os.environ["NNATK_RUN"] = marker_base     # the kill attacks' targets: this run's processes
    try:
        start = time.monotonic()
        run = grade(course, [ASSIGNMENT], jobs=2, progress=False)
        seconds = time.monotonic() - start
        time.sleep(1.0)                                 # let dying processes go
        survivors = processes_with(marker_base)
        disk_after = written(course.root, marker_base)
        big = [(str(p), p.stat().st_size) for p in course.root.rglob("*")
               if p.is_file() and not p.is_symlink() and p.stat().st_size > MAX_FILE]
        yield dict(course=course, run=run, seconds=seconds, survivors=survivors,
                   canaries=canaries, server=server, markers=markers, submitted=submitted,
                   protected=protected, other=other, other2=other2, other_files=other_files,
                   disk_growth=disk_after - disk_before, big=big,
                   results={r["student"]: r for r in run.results})
    finally:                       # clean up what a weak sandbox let through (ours only)
        os.environ.pop("NNATK_RUN", None)
        for pid, _ in processes_with(marker_base):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        for d in ("/tmp", "/var/tmp", "/dev/shm", os.path.expanduser("~")):
            for p in Path(d).glob(f"{marker_base}*"):
                p.unlink(missing_ok=True)
        shutil.rmtree(other.parent, ignore_errors=True)
        server.sock.close()


def ids(attacks):
    return [a["id"] for a in attacks]


def test_catalogue_covers_every_class():
    classes = {}
    for a in ATTACKS:
        classes.setdefault(a["class"], []).append(a["id"])
    assert len(ids(ATTACKS)) == len(set(ids(ATTACKS)))
    for name in ("ipython_hooks", "builtins_import", "tracing", "lying_objects", "host_files",
                 "namespaces", "survivors", "pipe_holders", "disk_fill", "kill_others",
                 "process_limit", "oversized"):
        assert len(classes.get(name, [])) >= 2, name


def test_honest_blank_and_victims(graded):
    r = graded["results"]
    for student in [HONEST] + VICTIMS:
        assert r[student]["status"] == "graded", (student, r[student].get("error"))
        assert r[student]["score"] == FULL, (student, [(c["grade_id"], c["score"], c["message"])
                                                        for c in r[student]["cells"]])
    assert r[BLANK]["score"] == 0.0


OVERSIZED = [a for a in ATTACKS if a["class"] == "oversized"]


@pytest.mark.parametrize("attack", OVERSIZED, ids=ids(OVERSIZED))
def test_answers_over_the_size_limits_are_refused_and_flagged(graded, attack):
    """The grader never takes an answer over its limits: the test scores 0 and the report's
    flag says the kernel's answer broke the protocol or never came."""
    r = graded["results"][student_of(attack)]
    kinds = {f["kind"] for f in r.get("flags") or []}
    assert kinds & {"protocol", "timeout"}, r.get("flags")


@pytest.mark.parametrize("attack", ATTACKS, ids=ids(ATTACKS))
def test_attack_gains_nothing(graded, attack):
    r = graded["results"][student_of(attack)]
    cells = [(c["grade_id"], c["score"], (c["message"] or "")[:200]) for c in r["cells"]]
    if attack["base"] == "blank":
        assert r["score"] == 0.0, cells
    else:
        assert r["status"] == "graded", r.get("error")
        assert r["score"] == FULL, cells


@pytest.mark.parametrize("attack", ATTACKS, ids=ids(ATTACKS))
def test_attack_reads_nothing_secret(graded, attack):
    course, student = graded["course"], student_of(attack)
    r = graded["results"][student]
    seen = outputs_text(course, student)
    found = [line for line in seen.splitlines() if "ATTACK-FOUND" in line]
    assert not found, found[:10]
    everything = seen + feedback_text(course, r) + json.dumps(r, ensure_ascii=False)
    leaked = [k for k, c in graded["canaries"].items() if c in everything]
    assert not leaked, leaked


def test_no_canary_anywhere_in_student_facing_files(graded):
    course = graded["course"]
    values = [c.encode() for c in graded["canaries"].values()]
    bad = []
    for d in ("autograded", "feedback"):
        for p in (course.root / d).rglob("*"):
            if p.is_file() and p.stat().st_size < 50 * 2**20:
                data = p.read_bytes()
                bad += [str(p.relative_to(course.root)) for v in values if v in data]
    assert not bad, bad


def test_no_connection_reached_the_test_server(graded):
    assert graded["server"].connections == []


def test_no_process_survives_grading(graded):
    assert graded["survivors"] == [], graded["survivors"]


def test_submitted_and_course_files_unchanged(graded):
    course = graded["course"]
    assert hashes(course.root / "submitted") == graded["submitted"]
    for d, before in graded["protected"].items():
        assert hashes(course.root / d) == before, d
    other_now = hashes(graded["other"]) | {"2/" + k: v for k, v in hashes(graded["other2"]).items()}
    assert other_now == graded["other_files"]
    pwned = [str(p) for p in course.root.rglob("*") if "pwned" in p.name or "NNATK" in p.name]
    assert not pwned, pwned


def test_gradebook_matches_results(graded):
    from nbgrader.api import Gradebook
    course, results = graded["course"], graded["results"]
    expected = {HONEST: FULL, BLANK: 0.0, **{v: FULL for v in VICTIMS}}
    for a in ATTACKS:
        expected[student_of(a)] = FULL if a["base"] == "reference" else 0.0
    with Gradebook(course.db_url, course.course_id) as gb:
        rows = {s.student.id: float(s.score) for s in gb.find_assignment(ASSIGNMENT).submissions}
    assert set(rows) == set(expected)
    wrong = {s: (rows[s], results[s]["score"], expected[s]) for s in expected
             if not rows[s] == results[s]["score"] == expected[s]}
    assert not wrong, wrong


def test_disk_not_filled(graded):
    assert graded["big"] == [], graded["big"]
    assert graded["disk_growth"] < MAX_DISK_GROWTH, graded["disk_growth"] / 2**20


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a["class"] == "disk_fill"],
                         ids=ids([a for a in ATTACKS if a["class"] == "disk_fill"]))
def test_fill_is_limited(graded, attack):
    """No place the kernel can write to takes 300 MB (file size and tmpfs limits)."""
    seen = outputs_text(graded["course"], student_of(attack))
    filled = [line.split() for line in seen.splitlines() if line.startswith("FILLED")]
    full = [f for f in filled if len(f) >= 3 and f[2] == "300"]
    assert not full, full


HOLDERS = [a for a in ATTACKS if a["class"] in ("pipe_holders", "survivors")]


@pytest.mark.parametrize("attack", HOLDERS, ids=ids(HOLDERS))
def test_children_holding_pipes_do_not_stretch_grading(graded, attack):
    """A child that keeps stdout/stderr or the session alive does not hold up its grading."""
    r = graded["results"][student_of(attack)]
    assert r["seconds"] < MAX_STUDENT_S, r["seconds"]


KILLERS = [a for a in ATTACKS if a["id"] == "kill_os_kill_all"]


def grade_beside_victims(tmp_path, attack, settings="", env=(), victims=VICTIMS):
    """Grade ``attack`` next to honest ``victims`` (jobs=2) on a fresh course copy; returns
    (course, run, token).  Every process the attack started is killed afterwards."""
    token = f"NNATK-{secrets.token_hex(6)}"
    course = configured_copy(ROOT, tmp_path / "course", TEST_SETTINGS + settings)
    ensure_built(course, [ASSIGNMENT])
    name = release_notebook(course, ASSIGNMENT).name
    subs = {v: reference_submission(course, ASSIGNMENT) for v in victims}
    subs[student_of(attack)] = attack_notebook(course, attack, {
        "COURSE": course.root, "OTHER": tmp_path, "OTHER2": tmp_path, "PORT": 9,
        "MARKER": f"{token}-{attack['id']}", "STUDENT": student_of(attack), "RUN": token}, PRELUDE)
    for student, nb in subs.items():
        dest = course.submitted_dir(student, ASSIGNMENT)
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    env = [("NNATK_RUN", token), *env]       # the kill attacks' targets: this run's processes
    old = {k: os.environ.get(k) for k, _ in env}
    os.environ.update(dict(env))
    try:
        run = grade(course, [ASSIGNMENT], jobs=2, progress=False)
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        for pid, _ in processes_with(token):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return course, run, token


def victims_lost(run):
    return {r["student"] for r in run.results if r["student"].startswith("victim_")
            and (r["status"] != "graded" or r["score"] < FULL)}


@pytest.mark.parametrize("attack", [a for a in ATTACKS if a["class"] == "process_limit"],
                         ids=lambda a: a["id"])
def test_process_limit_attacks_are_real_with_one_shared_uid(tmp_path, attack):
    """The control for the process-limit attacks: with one sandbox uid for every kernel
    (SANDBOX_UIDS = 1, as before each grading process had its own) a victim graded beside the
    attack loses its grade; with a uid per grading process (the sandboxed run above) none do."""
    if os.geteuid() != 0:
        pytest.skip("the sandbox uid range is used only when grading runs as root")
    # (4 victims: the ones graded while the attack holds its processes start kernels then)
    course, run, _ = grade_beside_victims(tmp_path, attack, "SANDBOX_UIDS = 1\n",
                                          victims=[f"victim_{i}" for i in range(1, 5)])
    assert victims_lost(run), [(r["student"], r["status"], r["score"]) for r in run.results]


def test_kill_attacks_are_real_without_the_sandbox(tmp_path):
    """The control for the kill attacks: the same submission graded without the sandbox
    (NNCOURSE_NO_SANDBOX=1) finds and kills the other grading worker, and a victim graded
    beside it loses its grade (in the sandboxed run above it finds nothing, and every victim
    keeps full marks)."""
    attack = KILLERS[0]
    course, run, token = grade_beside_victims(tmp_path, attack, env=[("NNCOURSE_NO_SANDBOX", "1")])
    seen = outputs_text(course, student_of(attack))
    assert "ATTACK-FOUND killed" in seen, seen[-2000:]
    # what it killed was the other grading worker, again and again: the victims beside it
    # could not be graded
    assert victims_lost(run), [(r["student"], r["status"], r["score"]) for r in run.results]


def test_report_lists_the_broken_calls_without_accusing(graded):
    """The report's 要確認 (Flagged) section names each submission whose kernel broke the call
    protocol, worded so that an honest endless loop is not called cheating; the honest
    students are not in it."""
    from nncourse.report.page import FLAGGED_NOTE, FLAGGED_TITLE
    html = graded["run"].report.html.read_text(encoding="utf-8")
    assert FLAGGED_TITLE in html and FLAGGED_NOTE.split(";")[0] in html
    flagged = html.split(FLAGGED_TITLE)[1].split("</table>")[0]
    for attack in OVERSIZED:
        assert f"<td class='l'>{student_of(attack)}</td>" in flagged
    for student in [HONEST] + VICTIMS:
        assert f"<td class='l'>{student}</td>" not in flagged


TAMPERED_HELPER = '''
# a student's own check_summary.py, submitted with the notebook: if the kernel imported it,
# every visible assert would pass, the table would say so, and it would write beside others
import os
print("TAMPERED-HELPER-RAN", "{marker}")
for where in ("..", "../..", os.path.expanduser("~"), "/tmp"):
    try:
        with open(os.path.join(where, "{marker}-pwned"), "w") as f:
            f.write("x")
    except OSError:
        pass


def watch_cells():
    get_ipython().input_transformers_post.append(
        lambda lines: [line.replace("assert ", "assert True or ") for line in lines])


class Summary:
    def __init__(self, checks):
        self.checks = checks

    def __repr__(self):
        return "見えているテストの結果: 全部合格 {marker}"
'''


def test_tampered_summary_helper_in_a_submission_changes_nothing(tmp_path):
    """check_summary.py sits in the student's folder, so a submission may carry an edited one.
    Graded through the real pipeline next to the same wrong notebook without it and an honest
    victim: nbgrader autograde puts the course's copy in its place, so the edited file never
    runs (no marker in any output, no file written), the trusted table shows the wrong
    exercise, the score and every cell's verdict equal the control's, the victim keeps full
    marks, and the submitted files are left as they were."""
    from autograders import catalogue
    marker = f"NNATK-{secrets.token_hex(6)}-summary"
    course = configured_copy(ROOT, tmp_path / "course", TEST_SETTINGS)
    ensure_built(course, [ASSIGNMENT])
    name = release_notebook(course, ASSIGNMENT).name
    mutant = next(e for e in catalogue.load().mutants if e.id == "sse_no_half")
    wrong = catalogue.apply(reference_submission(course, ASSIGNMENT), mutant)
    subs = {"tamperer": wrong, "control": wrong, "victim_1": reference_submission(course, ASSIGNMENT)}
    for student, nb in subs.items():
        dest = course.submitted_dir(student, ASSIGNMENT)
        dest.mkdir(parents=True)
        nbformat.write(nb, dest / name)
    helper = course.submitted_dir("tamperer", ASSIGNMENT) / "check_summary.py"
    helper.write_text(TAMPERED_HELPER.format(marker=marker), encoding="utf-8")
    submitted = hashes(course.root / "submitted")
    try:
        run = grade(course, [ASSIGNMENT], jobs=2, progress=False)
    finally:
        planted = [p for d in (course.root, Path("/tmp"), Path.home())
                   for p in (d.rglob(f"{marker}*") if d == course.root else d.glob(f"{marker}*"))]
        for p in planted:
            p.unlink(missing_ok=True)
    r = {x["student"]: x for x in run.results}
    verdicts = {s: [(c["grade_id"], c["score"]) for c in r[s]["cells"]] for s in ("tamperer", "control")}
    assert r["control"]["status"] == r["tamperer"]["status"] == "graded", r["tamperer"].get("error")
    assert r["control"]["score"] == FULL - 2.0, verdicts["control"]          # the mutant loses 問 1
    assert r["tamperer"]["score"] == r["control"]["score"], verdicts
    assert verdicts["tamperer"] == verdicts["control"]
    assert r["victim_1"]["status"] == "graded" and r["victim_1"]["score"] == FULL
    seen = outputs_text(course, "tamperer")
    ran = [line for line in seen.splitlines() if "TAMPERED" in line or marker in line or "全部合格" in line]
    assert not ran, ran[:5]
    assert "✗ 問 1 (2 点) test_sum_squared_error" in seen
    assert marker not in feedback_text(course, r["tamperer"])
    graded_helper = course.autograded_dir("tamperer", ASSIGNMENT) / "check_summary.py"
    assert graded_helper.read_bytes() == (ROOT / "reference" / "check_summary.py").read_bytes()
    assert planted == [], planted
    assert hashes(course.root / "submitted") == submitted
