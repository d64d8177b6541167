"""The catalogue's verdicts over many submission seeds, in this process.

While grading, a hidden check draws its random inputs from ``compare.rng``, which mixes in
the submission's secret seed.  ``tests/checks/test_catalogue.py`` grades each mutant and variant
once, through nbgrader, with one seed: a check that catches a mutant for most seeds but
not all (or fails a correct variant for a few) is a flaky CI test there and an unfair
grade for a real student.  Here each entry's notebook is run in this process (its code
cells in order; a test cell's visible part only, as in the kernel) and every hidden check
of the notebook is run on the resulting objects through ``nncourse.kernel.local`` (the
kernel's call server and wire format, without a kernel) for many seeds; ``audit`` lists
every (entry, test cell) whose verdict is not the catalogue's for some seed.

    python -m autograders.catalogue.seeds [--seeds 300] [--assignment a1_loss ...] [--training]

Without ``--training`` the a4 training cell (10000 MNIST iterations, a few seconds per
entry) and the two test cells that judge it are left out: their seeded part is
``check_train_step``'s, which is audited on its own cell.
"""
import argparse
import ast
import contextlib
import importlib
import io
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib
import numpy as np

from nncourse.core.course import Course
from nncourse.core.notebook import is_autograded_test, remove_hidden_tests
from nncourse.kernel.checks import hidden_calls, run_check
from nncourse.kernel.local import local_student

from .. import compare
from . import apply, as_submitted, load

ROOT = Path(__file__).resolve().parents[2]

# the a4 cell that trains on MNIST and the test cells that judge its result
TRAINING_CELL = "minibatch_training"
TRAINING_TESTS = ("test_minibatch_training_history", "test_minibatch_training_result")


def seeds(n, start=0):
    """``n`` submission seeds like the grader's (64-bit HMAC digests), the same every run."""
    return [int(s) for s in
            np.random.default_rng(20261203).integers(0, 2**63, start + n, dtype=np.uint64)[start:]]


def seeded_functions(module):
    """Names of the functions of a checks ``module`` whose inputs depend on the submission
    seed: those that call ``compare.rng`` (imported as ``compare_rng`` or ``rng``), directly
    or through another function of the module (read with ``ast``; ``<anything>.rng`` counts
    too).  A helper imported from another checks module is not followed."""
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    uses = {f.name: {n.id for n in ast.walk(f) if isinstance(n, ast.Name)} |
            {f".{n.attr}" for n in ast.walk(f) if isinstance(n, ast.Attribute)}
            for f in tree.body if isinstance(f, ast.FunctionDef)}
    aliases = {".rng"} | {a.asname or a.name for node in ast.walk(tree)
                          if isinstance(node, ast.ImportFrom) and node.module == "compare"
                          for a in node.names if a.name == "rng"}
    seeded, grown = set(), True
    while grown:
        new = {f for f, names in uses.items() if names & (aliases | seeded)} - seeded
        seeded |= new
        grown = bool(new)
    return seeded


@dataclass
class Graded:
    """One submission graded in this process: each test cell's verdicts, by seed."""
    aid: str
    entry: object                      # catalogue Entry, or None for the reference
    verdicts: dict                     # grade_id -> [(seed, Verdict)]
    seeded: set                        # the grade_ids whose check draws seeded inputs
    errors: dict = field(default_factory=dict)     # grade_id or cell index -> exception text
    namespace: dict = field(default_factory=dict, repr=False)

    @property
    def name(self):
        return self.entry.id if self.entry else "reference"


@contextlib.contextmanager
def _notebook_dir(folder):
    """Run as in the notebook's folder (the cwd, and its modules such as a4's mnist.py first
    on sys.path); sys.path, the cwd and sys.modules' entries of those modules restored."""
    own = [p.stem for p in Path(folder).glob("*.py") if not p.name.endswith(".pct.py")]
    saved = {m: sys.modules.pop(m) for m in own if m in sys.modules}
    cwd = os.getcwd()
    sys.path.insert(0, str(folder))
    try:
        os.chdir(folder)
        yield
    finally:
        os.chdir(cwd)
        sys.path.remove(str(folder))
        for m in own:
            sys.modules.pop(m, None)
        sys.modules.update(saved)


def _check_verdicts(call, namespace, seed_list):
    """[(seed, Verdict)] of one hidden check on the objects of ``namespace``."""
    out = []
    try:
        for seed in seed_list:
            compare.set_submission_seed(seed)
            out.append((seed, run_check(call, local_student(namespace))))
    finally:
        compare.set_submission_seed(None)
    return out


def grade(course, aid, entry, seed_list, skip=(), only=None):
    """Grade the submitted form of ``aid``'s source notebook (``entry``'s edit applied, or
    the reference) in this process, as the grader does but for many seeds: its code cells
    run in order in a fresh namespace (a test cell's visible part only, as in the kernel; a
    cell that raises is recorded and the next cells still run, as with nbgrader); at each
    test cell its hidden check runs on the objects as they are then, for every seed of
    ``seed_list`` if it draws seeded inputs (``seeded_functions``), else for the first.
    Cells whose grade_id is in ``skip`` are left out; ``only`` (grade_ids): the test cells
    whose checks run (the other cells still run)."""
    nb = as_submitted(course.read_source(aid))
    if entry is not None:
        apply(nb, entry)
    calls = hidden_calls(course.source_dir(aid) / f"{course.notebooks(aid)[0]}.ipynb")
    seeded_names = {}
    ns = {"__name__": "__main__"}
    graded = Graded(aid, entry, {}, set(), namespace=ns)
    with _notebook_dir(course.source_dir(aid)), compare.quiet(), \
            contextlib.redirect_stdout(io.StringIO()):
        matplotlib.use("Agg")
        for i, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            gid = cell.metadata.get("nbgrader", {}).get("grade_id", i)
            if gid in skip:
                continue
            test = is_autograded_test(cell)
            try:
                exec(compile(remove_hidden_tests(cell.source) if test else cell.source,
                             f"<{aid} cell {gid}>", "exec"), ns)
            except Exception as exc:    # noqa: BLE001 -- a student's cell may raise anything
                graded.errors[gid] = f"{type(exc).__name__}: {exc}"
            if test and calls.get(gid) is not None and (only is None or gid in only):
                call = calls[gid]
                if call.module_name not in seeded_names:
                    seeded_names[call.module_name] = seeded_functions(
                        importlib.import_module(call.module_name))
                seeded = call.function in seeded_names[call.module_name]
                if seeded:
                    graded.seeded.add(gid)
                graded.verdicts[gid] = _check_verdicts(call, ns,
                                                       seed_list if seeded else seed_list[:1])
    return graded


def expected_passes(entry, tests):
    """{grade_id: True if the catalogue says the entry keeps that cell's points}."""
    loses = set(entry.loses) if entry is not None and entry.kind == "mutant" else set()
    return {g: g not in loses for g in tests}


@dataclass
class Finding:
    """An (entry, test cell) whose verdict is not the catalogue's for ``wrong`` of the seeds."""
    entry: str
    kind: str
    test: str
    should_pass: bool
    wrong: list                         # the seeds with the wrong verdict
    n_seeds: int
    message: str = ""                   # the check's message on the first wrong seed

    @property
    def fraction(self):
        return len(self.wrong) / self.n_seeds

    def __str__(self):
        if self.test == "message":
            return (f"{self.kind} {self.entry}: {self.message} for {len(self.wrong)}/"
                    f"{self.n_seeds} seeds ({100 * self.fraction:.1f} %)")
        what = "fails" if self.should_pass else "passes"
        return (f"{self.kind} {self.entry}: {self.test} {what} for {len(self.wrong)}/"
                f"{self.n_seeds} seeds ({100 * self.fraction:.1f} %)")


def findings(graded):
    """The ``Finding``s of one ``grade``d submission: a test cell whose verdict is not the
    catalogue's, and (a mutant) seeds where none of its lost cells' messages holds the
    catalogue's ``message`` (a check run for the first seed only has that verdict for all;
    decided only when every cell of ``loses`` ran)."""
    out = []
    entry = graded.entry
    kind = entry.kind if entry else "reference"
    all_seeds = [s for s, _ in max(graded.verdicts.values(), key=len, default=[])]
    for g, results in graded.verdicts.items():
        should = expected_passes(entry, [g])[g]
        wrong = [(s, v) for s, v in results if v.passed != should]
        if wrong:
            out.append(Finding(graded.name, kind, g, should, [s for s, _ in wrong],
                               len(results), wrong[0][1].message))
    if kind == "mutant" and all(g in graded.verdicts for g in entry.loses):
        by_seed = {g: dict(graded.verdicts[g]) for g in entry.loses}
        first = {g: graded.verdicts[g][0][1] for g in entry.loses}
        missing = [s for s in all_seeds if not any(
            not v.passed and entry.message in v.message
            for v in (by_seed[g].get(s, first[g]) for g in entry.loses))]
        if missing:
            out.append(Finding(graded.name, kind, "message", False, missing, len(all_seeds),
                               f"{entry.message!r} in no failure message of "
                               f"{', '.join(entry.loses)}"))
    return out


def audit(course, catalogue, aids, seed_list, training=False, progress=None):
    """Every ``Finding`` of the reference and every entry of ``aids`` over ``seed_list``."""
    found = []
    for aid in aids:
        skip = () if training or aid != "a4_two_layer_net" else (TRAINING_CELL, *TRAINING_TESTS)
        for entry in [None] + catalogue.by_assignment(aid):
            graded = grade(course, aid, entry, seed_list, skip)
            new = findings(graded)
            if progress:
                progress(graded, new)
            found += new
    return found


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seeds", type=int, default=300, help="how many submission seeds")
    p.add_argument("--assignment", nargs="*", help="assignments (default: all)")
    p.add_argument("--training", action="store_true",
                   help="also run a4's MNIST training and its two test cells")
    args = p.parse_args(argv)
    course = Course.load(ROOT)
    aids = args.assignment or list(course.assignments)

    def progress(graded, new):
        print(f"{graded.aid} {graded.name}: " + ("; ".join(map(str, new)) if new else "ok"),
              flush=True)
    found = audit(course, load(), aids, seeds(args.seeds), args.training, progress)
    print(f"\n{len(found)} verdict(s) not the catalogue's for some of {args.seeds} seeds")
    if not args.training and "a4_two_layer_net" in aids:
        print(f"left out: a4's {TRAINING_CELL} cell and {', '.join(TRAINING_TESTS)} "
              "(MNIST training; --training runs them)")
    for f in found:
        print(f"  {f}\n    {f.message.splitlines()[0] if f.message else ''}")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
