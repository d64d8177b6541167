"""The feedback page is nbconvert's page, made faster (issue #20).

``FeedbackExporter`` skips HTMLExporter's last step, a BeautifulSoup pass over the whole page
that only gives each ``<img>`` without one an ``alt`` (and the lab template's cells, which
this classic-based template has none of, a ``tabindex``), and remembers highlighted code.
Required: for real graded notebooks of the demo cohort (a figure among them), through
``generate_feedback``, the page parsed and printed by BeautifulSoup is exactly nbconvert's
page for the same notebook and resources; no ``<img>`` lacks an ``alt``.
"""
import re
import shutil
from copy import deepcopy

import pytest
from bs4 import BeautifulSoup
from nbconvert.exporters import HTMLExporter

from nncourse.core.course import Course
from nncourse.feedback.page import NO_ALT, FeedbackExporter, add_missing_alt
from nncourse.feedback.write import generate_feedback

pytestmark = pytest.mark.slow     # needs the graded demo cohort


def test_alt_is_added_outside_scripts_and_styles_only():
    page = ('<p><img src="a.png"><script>s = "<img src=b>";</script><IMG ALT="x" src=c>'
            '<style>img{}</style><img\nsrc="d"></p>')
    assert add_missing_alt(page) == (
        f'<p><img alt="{NO_ALT}" src="a.png"><script>s = "<img src=b>";</script><IMG ALT="x" '
        f'src=c><style>img{{}}</style><img alt="{NO_ALT}"\nsrc="d"></p>')


def test_pages_are_nbconverts_pages(demo_cohort, tmp_path, monkeypatch):
    course, _ = demo_cohort
    root = tmp_path / "demo"
    shutil.copytree(course.root, root, symlinks=True)
    course = Course.load(root)
    with_figure = [p for p in sorted((root / "autograded").glob("*/*/*.ipynb"))
                   if "image/png" in p.read_text(encoding="utf-8")]
    assert with_figure, "no graded notebook with a figure in the demo cohort"
    plain = [p for p in sorted((root / "autograded").glob("*/a1_loss/*.ipynb"))][:2]
    pages = []
    real = FeedbackExporter.from_notebook_node

    def both(self, nb, resources=None, **kw):
        nb2, res2 = deepcopy(nb), deepcopy(resources)
        page, out = real(self, nb, resources, **kw)
        res2["nncourse"] = resources["nncourse"]           # the same MathJax tag
        theirs, _ = HTMLExporter.from_notebook_node(self, nb2, res2, **kw)
        pages.append((page, theirs))
        return page, out

    monkeypatch.setattr(FeedbackExporter, "from_notebook_node", both)
    for path in [with_figure[0], *plain]:
        student, aid = path.parent.parent.name, path.parent.name
        generate_feedback(course, aid, student)
    assert len(pages) == 3
    for page, theirs in pages:
        assert str(BeautifulSoup(page, features="html.parser")) == theirs
        assert not re.search(r"<img\b(?![^>]*\balt=)", page)
    assert "<img" in pages[0][0]
