"""A student's figures survive grading, within the output caps (issue #19, item 1).

The grading kernel uses matplotlib's inline backend (Jupyter's), so ``plt.show()`` makes an
``image/png`` output, with an alt text saying what the figure shows (its titles, axis labels,
legends: ``kernel_boot.figure_alt``).  One ``nncourse grade`` run (Python API, worker
processes, real nbgrader, sandboxed kernels) on a copy of the toy course grades:

- ``victim``: the reference solutions;
- ``plots``: the reference plus a cell drawing two figures with ``plt.show()``;
- ``fig_many``: hundreds of figures: 200 in one cell, then 40 cells of 3 noisy figures each;
- ``fig_huge``: one huge figure (a 4,000 x 4,000-pixel image of noise, a PNG of ~30 MB: over
  the kernel's per-message limit), one larger than the kernel's memory, then a print.

The autograded notebook holds the PNGs, the feedback page embeds them with their alt text, and
the bombs cost only their student: everyone keeps full marks, and their notebooks and pages
stay within the notebook's output budget (``MAX_NOTEBOOK_OUTPUT_CHARS``) of the victim's.
"""
import base64
import re

import nbformat
import pytest

from conftest import configured_copy

from nncourse.build import build
from nncourse.cohort import reference_submission
from nncourse.core.records import load_result
from nncourse.grade.run import grade

from test_hostile_worker import AID, FULL, NOTEBOOK_OUTPUT_CHARS, PAGE_BOUND, TOY, pages, put

pytestmark = pytest.mark.slow
TEST_SETTINGS = """
CELL_TIMEOUT_S = 60                       # (test) 200 figures in one cell take ~10 s here
NOTEBOOK_TIMEOUT_S = 240
"""
PLOTS = """
import numpy as np
import matplotlib.pyplot as plt
xs = np.linspace(-2, 2, 50)
plt.plot(xs, xs ** 2, label="x^2")
plt.plot(xs, 2 * xs, label="2x")
plt.title("square and its derivative")
plt.xlabel("x")
plt.ylabel("y")
plt.legend()
plt.show()
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(8, 3))
ax1.plot(xs, np.exp(-xs ** 2))
ax1.set_title("loss")
ax2.hist(np.sin(xs * 7), bins=10)
ax2.set_xlabel("value")
plt.show()
"""
MANY_ONE_CELL = """
import matplotlib.pyplot as plt
for i in range(200):
    plt.figure(figsize=(2, 2))
    plt.plot([0, 1], [i, -i])
    plt.show()
"""
MANY_CELL = """
import numpy as np
import matplotlib.pyplot as plt
for _ in range(3):
    plt.figure(figsize=(2.5, 2.5))
    plt.imshow(np.random.rand(40, 40))      # a PNG of ~17,000 base64 characters
    plt.show()
"""
HUGE = ["""
import numpy as np
import matplotlib.pyplot as plt
plt.figure(figsize=(40, 40))
plt.imshow(np.random.rand(2000, 2000), interpolation="nearest")
plt.show()
""", """
import matplotlib.pyplot as plt
plt.figure(figsize=(600, 600))      # 60,000 x 60,000 pixels: more than the kernel's memory
plt.plot([0, 1], [0, 1])
plt.show()
""", "print('AFTER-' + 'HUGE')"]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("figures")
    course = configured_copy(TOY, base / "course", TEST_SETTINGS)
    build(course, [AID])
    cells = {"victim": [], "plots": [PLOTS], "fig_many": [MANY_ONE_CELL] + [MANY_CELL] * 40,
             "fig_huge": HUGE}
    for student, extra in cells.items():
        nb = reference_submission(course, AID)
        nb.cells += [nbformat.v4.new_code_cell(code) for code in extra]
        put(course, student, nb)
    run = grade(course, [AID], jobs=2, progress=False)
    return dict(course=course, run=run, results={s: load_result(course, AID, s) for s in cells})


def notebook(graded, student):
    return nbformat.reads(pages(graded["course"], student)[2], as_version=4)


def images(nb):
    return [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]


def feedback_html(graded, student):
    r = load_result(graded["course"], AID, student)
    return "".join((graded["course"].root / f).read_text(encoding="utf-8") for f in r["feedback"])


def test_everyone_is_graded_with_full_marks(graded):
    for student, r in graded["results"].items():
        assert (r["status"], r["score"]) == ("graded", FULL), (student, r.get("error"), r["cells"])


def test_figures_are_pngs_in_the_autograded_notebook_with_what_they_show(graded):
    figs = images(notebook(graded, "plots"))
    assert len(figs) == 2, figs
    for fig in figs:
        assert base64.b64decode(fig.data["image/png"]).startswith(PNG_SIGNATURE)
    first, second = (f.metadata["image/png"]["alt"] for f in figs)
    assert first == ("あなたのコードが描いた図 (1 個のグラフ): 「square and its derivative」、"
                     "横軸 x、縦軸 y、凡例 x^2, 2x"), first
    assert second == "あなたのコードが描いた図 (2 個のグラフ): 「loss」; 横軸 value", second
    assert images(notebook(graded, "victim")) == []


def test_the_feedback_page_embeds_the_figures(graded):
    page = feedback_html(graded, "plots")
    tags = re.findall(r"<img\b[^>]*>", page)
    embedded = [(re.search(r'src="data:image/png;base64,([A-Za-z0-9+/=\s]+)"', t),
                 re.search(r'alt="([^"]*)"', t)) for t in tags]
    embedded = [(src.group(1), alt.group(1)) for src, alt in embedded if src and alt]
    assert len(embedded) == 2, [t[:200] for t in tags]
    for data, alt in embedded:
        assert base64.b64decode(data).startswith(PNG_SIGNATURE)
        assert alt.startswith("あなたのコードが描いた図")


def test_a_figure_bomb_stays_within_the_caps(graded):
    victim_feedback, victim_size, _ = pages(graded["course"], "victim")
    nb = notebook(graded, "fig_many")
    figs = images(nb)
    kept = sum(len(o.data["image/png"]) for o in figs)
    assert 5 < len(figs) < 140, len(figs)            # 320 drawn, some kept, most dropped
    assert kept <= NOTEBOOK_OUTPUT_CHARS, kept
    text = pages(graded["course"], "fig_many")[2]
    assert "1 セルあたり 100,000 文字まで" in text           # the 200-figure cell
    assert "ノートブック全体で 1,000,000 文字まで" in text      # the 40 cells together
    for student in ("fig_many", "fig_huge", "plots"):
        feedback, size, _ = pages(graded["course"], student)
        assert size < victim_size + PAGE_BOUND, (student, size)
        assert feedback < victim_feedback + PAGE_BOUND, (student, feedback)


def test_a_huge_figure_is_a_note_and_later_outputs_arrive(graded):
    nb = notebook(graded, "fig_huge")
    huge, too_big, after = nb.cells[-3:]
    assert images(nb) == []
    text = repr(huge.outputs)
    assert "1 つの出力あたり" in text or "1 セルあたり" in text, text[:2000]
    assert any(o.get("output_type") == "error" for o in too_big.outputs), too_big.outputs
    assert "AFTER-HUGE" in "".join(o.get("text", "") for o in after.outputs), after.outputs
