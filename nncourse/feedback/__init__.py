"""Feedback HTML that shows each test's result and message but not the hidden tests' code,
and the teacher's manual scores and comments as they are in the gradebook.

nbgrader's feedback renders the autograded notebook, whose test cells hold the hidden tests
again (nbgrader #917).  ``HideHiddenTests`` removes those regions and reduces the error
tracebacks of such cells to the check's message (a traceback quotes the failing source line
and the autograders' code); ``FeedbackSummary`` puts a table of all tests and answers on top
(採点済み / 採点待ち for the written answers, with the teacher's comment).  The page is
nncourse's template (``templates/nncourse_feedback``: nbgrader's feedback template in
Japanese) with MathJax 3 from the ``mathjax`` package (django-static-mathjax on PyPI), so
math renders offline: a page loads the course's one copy, ``feedback/_mathjax/tex-svg.js``,
and every page that leaves the folder (the LMS export's zips, the LTI tool) has it inlined.

``configure_feedback`` puts all of this into an nbgrader config; ``course_config.py`` calls
it, so stock ``nbgrader generate_feedback`` (formgrader's "Generate Feedback" button) writes
the same pages as ``nncourse grade`` and ``nncourse feedback``.

- ``preprocessors.py``: what a page shows (the grades read under the lock, hidden tests
  removed, the summary on top);
- ``late.py``: the late-penalty sentence of a submission;
- ``page.py``: the template and the config (``configure_feedback``);
- ``mathjax.py``: MathJax, the shared copy (``ensure_shared``) and the self-contained page
  (``self_contained``);
- ``write.py``: a submission's pages (``generate_feedback``), or the one page of a submission
  that could not be graded (``write_failure_feedback``).
"""
# ``course_config.py`` (copied into every course, and edited there) imports the hook from here,
# and falls back to nbgrader's own pages when the import fails: it stays importable here
from .page import configure_feedback

__all__ = ["configure_feedback"]
