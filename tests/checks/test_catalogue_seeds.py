"""The catalogue's verdicts do not depend on the submission seed.

While grading, a hidden check draws its random inputs from the submission's secret seed
(``autograders.compare.rng``); ``tests/checks/test_catalogue.py`` grades each mutant and variant
once, with one seed.  Here every entry's notebook runs in this process and every hidden
check runs on its objects for many seeds (``autograders.catalogue.seeds``): each mutant
must lose points exactly on ``loses`` with its ``message`` and each variant and the
reference keep full marks, for every seed.

Fast: a1, a2, a3 (every entry, ``FAST_SEEDS`` seeds), the cases found fragile before (their
bad seeds), and a control that the audit sees a seed-dependent verdict.  Slow: a4's checks
(every entry, fewer seeds: one a4 entry costs ~0.7 s a seed), and a4's training checks,
which need a real MNIST training per entry (a few seconds each): their only seeded part is
``train_step``'s check (``test_training_checks_are_seeded_only_through_train_step``), so
the training runs for the reference only, with 2 seeds.
``python -m autograders.catalogue.seeds --seeds 500`` runs the whole audit.
"""
import pytest

from autograders import a1_loss as A1
from autograders import a2_gradient as A2
from autograders import a3_gradient_descent as A3
from autograders import a4_two_layer_net as A4
from autograders.catalogue import load
from autograders.catalogue.seeds import (ROOT, TRAINING_CELL, TRAINING_TESTS, audit, findings,
                                         grade, seeded_functions, seeds)
from nncourse.core.course import Course

COURSE = Course.load(ROOT)
CATALOGUE = load()
FAST_SEEDS = seeds(8)
SLOW_SEEDS = seeds(4)


def _entry(eid):
    return next(e for e in CATALOGUE.entries if e.id == eid)


def _shown(found):
    return [f"{f} -- {f.message.splitlines()[0] if f.message else ''}" for f in found]


def test_the_seeded_checks_are_known():
    """The audit runs every seed for exactly the checks that call compare.rng (directly or
    through a helper); the others get one seed.  Read from the modules' code: a new seeded
    check is audited over seeds without a change here."""
    checks = {m: {f for f in seeded_functions(m) if f.startswith("check_")}
              for m in (A1, A2, A3, A4)}
    assert checks[A1] == {"check_sum_squared_error", "check_cross_entropy_error",
                          "check_cross_entropy_error_batch", "check_cross_entropy_error_labels"}
    assert checks[A2] == {"check_numerical_gradient", "check_numerical_gradient_matrix"}
    assert checks[A3] == {"check_simple_net"}
    assert checks[A4] == {"check_predict", "check_loss", "check_accuracy",
                          "check_numerical_gradient", "check_gradient_check", "check_train_step",
                          "check_training_history", "check_training_result"}


@pytest.mark.parametrize("aid", [pytest.param("a1_loss", marks=pytest.mark.slow),  # ~10 s
                                 "a2_gradient", "a3_gradient_descent"])
def test_catalogue_verdicts_hold_for_every_seed(aid):
    seen = []
    found = audit(COURSE, CATALOGUE, [aid], FAST_SEEDS,
                  progress=lambda graded, new: seen.append(graded))
    assert len(seen) == 1 + len(CATALOGUE.by_assignment(aid))
    # every seeded cell really ran for every seed
    assert all(len(g.verdicts[c]) == len(FAST_SEEDS) for g in seen for c in g.seeded)
    assert all(g.seeded for g in seen)
    assert not found, _shown(found)


# seeds(300000) holds 5 seeds whose random zeros miss every correct class of the labels
# check's 100-sample batch: there a missing delta got the labels' hint, not the delta's
LABELS_NO_ZERO_SEEDS = [1119992395203928249, 4691019065009436107, 2403815002704060862,
                        7119031074152812798, 3751312175527203211]


# seeds(300)[106] for this one: a correct class of the 3-sample batch (the first case) has y so
# small that the missing delta changes the loss there, and got the labels' hint
LABELS_TINY_Y_SEED = 4969448991935518983


@pytest.mark.parametrize("eid", ["labels_no_delta", "ce_no_delta", "ce_delta_outside_log"])
def test_a_missing_delta_gets_the_delta_hint_on_labels_whatever_the_seed(eid):
    entry = _entry(eid)
    graded = grade(COURSE, "a1_loss", entry,
                   [LABELS_TINY_Y_SEED] + LABELS_NO_ZERO_SEEDS + FAST_SEEDS[:4],
                   only={"test_cross_entropy_error_labels"})
    for seed, verdict in graded.verdicts["test_cross_entropy_error_labels"]:
        assert not verdict.passed, seed
        assert entry.message in verdict.message, (seed, verdict.message)


# seeds(300) holds 5 seeds whose large scores stayed below exp's limit with a fixed +1000
SOFTMAX_BAD_SEED = seeds(1, 106)[0]


@pytest.mark.slow     # over 30 s: the full suite runs it, the fast subset does not
def test_the_audit_sees_a_verdict_that_depends_on_the_seed(monkeypatch):
    """Control: with the large-score case as it was before d7fc3b8 (every score + 1000), the
    naive softmax keeps the predict and loss points for one of these seeds, and the audit
    says so; with today's case it loses them for each."""
    entry = _entry("net_softmax_naive")
    tests = {"test_two_layer_net_predict", "test_two_layer_net_loss"}
    seed_list = [SOFTMAX_BAD_SEED] + FAST_SEEDS[:3]
    skip = (TRAINING_CELL, *TRAINING_TESTS)
    assert not findings(grade(COURSE, "a4_two_layer_net", entry, seed_list, skip, tests))

    def fixed_shift(params, scale, x):
        params["W2"] *= scale
        if scale > 1:
            params["b2"] += 1000.0
        return params
    monkeypatch.setattr(A4, "_large_scores", fixed_shift)
    found = findings(grade(COURSE, "a4_two_layer_net", entry, seed_list, skip, tests))
    assert {f.test for f in found} >= tests
    assert all(f.wrong == [SOFTMAX_BAD_SEED] for f in found if f.test in tests)


def test_training_checks_are_seeded_only_through_train_step():
    """The training checks draw nothing from the seed but ``_require_step``, which is
    ``check_train_step``'s own step check: their seed-dependence is train_step's, audited on
    every entry (slow test below); the rest judges the trained network, the same for all."""
    seeded = seeded_functions(A4)
    assert {"_require_step", "_check_step", "_step_inputs"} <= seeded
    assert "_measure" not in seeded and "_last_accuracies_agree" not in seeded
    source = {f: getattr(A4, f).__code__.co_names for f in ("check_training_history",
                                                             "check_training_result")}
    for f, names in source.items():
        assert [n for n in names if n in seeded] == ["_require_step"], (f, names)


@pytest.mark.slow
def test_a4_catalogue_verdicts_hold_for_every_seed():
    """Every a4 entry but the training (its cell and its two test cells: below)."""
    found = audit(COURSE, CATALOGUE, ["a4_two_layer_net"], SLOW_SEEDS)
    assert not found, _shown(found)


# the reference only: the training run in this process takes ~40 s (6 s in a kernel; not
# investigated), so the other a4 entries' training is left to
# `python -m autograders.catalogue.seeds --training` (their seeded part, train_step's check,
# is audited above for every entry)
TRAINING_ENTRIES = [None]


@pytest.mark.slow
@pytest.mark.parametrize("eid", TRAINING_ENTRIES, ids=lambda e: e or "reference")
def test_a4_training_verdicts_hold_for_two_seeds(eid):
    entry = _entry(eid) if eid else None
    graded = grade(COURSE, "a4_two_layer_net", entry, seeds(2),
                   only={"test_train_step", *TRAINING_TESTS})
    assert {g for g in graded.seeded} == {"test_train_step", *TRAINING_TESTS}
    assert all(len(v) == 2 for v in graded.verdicts.values())
    found = findings(graded)
    assert not found, _shown(found)
    if eid is None:       # the training really ran, to the lecture's accuracy
        assert len(graded.namespace["train_loss_list"]) == 10000
        assert graded.namespace["test_acc_list"][-1] >= 0.94
