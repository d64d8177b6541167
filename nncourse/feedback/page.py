"""The feedback page: nncourse's template (``templates/nncourse_feedback``) with MathJax 3
(``mathjax.py``: the feedback folder's shared copy, or inlined) and the accessibility style,
and the nbgrader config that makes it (``configure_feedback``)."""
import os
import re
from pathlib import Path

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from ..core.course import SHARED_FEEDBACK_DIR
from .mathjax import ensure_shared, mathjax_js, shared_tag
from .preprocessors import FeedbackSummary, HideHiddenTests, LockedGetGrades, ReplaceSelfCheck

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "nncourse_feedback"
A11Y_CSS = TEMPLATES / "shared" / "a11y.css"   # contrast and reflow rules, formgrader's page too


class CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates kept in memory: nbconvert makes a new template environment
    for every exporter, i.e. every feedback run, and compiling the templates again (about a
    third of a page's time) was the same work each time.  Jinja checks each entry against
    the template's source (a changed template is compiled again)."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED = CompiledTemplates()     # this process's; a cache only: pages are the same without it


class RememberingHighlight(Highlight2HTML):
    """nbconvert's code highlighter (Pygments), remembering what it made: most code cells
    are the release's own, the same on every student's page of an assignment, and
    highlighting was about a fifth of a page's time.  A cache only: the same HTML."""

    done: dict[tuple, str] = {}          # this process's
    LIMIT = 4096                         # entries (a cell's HTML: a few kB)

    def __call__(self, source, language=None, metadata=None):
        key = (self.pygments_lexer, language, (metadata or {}).get("magics_language"), source)
        html = self.done.get(key)
        if html is None:
            html = super().__call__(source, language, metadata)
            if len(self.done) >= self.LIMIT:
                self.done.clear()
            self.done[key] = html
        return html


IMG_WITHOUT_ALT = re.compile(r"<img\b(?![^>]*\balt\s*=)", re.I)
RAW_TEXT = re.compile(r"(<(script|style)\b.*?</\2\s*>)", re.I | re.S)   # never touched
NO_ALT = "No description has been provided for this image"             # nbconvert's words


def add_missing_alt(page):
    """``alt`` for every ``<img>`` of ``page`` that has none, outside scripts and styles (what
    nbconvert's HTMLExporter does with a BeautifulSoup pass over the whole page)."""
    parts = RAW_TEXT.split(page)
    # split() returns [text, whole raw block, its tag name, text, ...]
    return "".join(IMG_WITHOUT_ALT.sub(f'<img alt="{NO_ALT}"', part) if i % 3 == 0 else
                   (part if i % 3 == 1 else "") for i, part in enumerate(parts))


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for feedback pages: nncourse's template and MathJax.

    Run by nbgrader's GenerateFeedback (its parent), a page loads the feedback folder's
    shared MathJax (written here when missing); run otherwise, MathJax is inlined.  Its own
    config section (``FeedbackExporter``) wins over ``HTMLExporter``'s, which formgrader's
    Generate Feedback sets to nbgrader's template."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        """HTMLExporter's page, without its last step: a BeautifulSoup pass over the whole
        page (about two fifths of a page's time) that gives each ``<img>`` without one an
        ``alt`` and the lab template's cells a ``tabindex``.  The alt text is added here
        (``add_missing_alt``); this template (classic) has no lab cells.  Otherwise as
        ``HTMLExporter.from_notebook_node`` (nbconvert 7), with a remembering highlighter."""
        resources = resources if resources is not None else {}
        resources["nncourse"] = {"a11y_css": A11Y_CSS.read_text(encoding="utf-8"),
                                 **self._mathjax(resources)}
        langinfo = nb.metadata.get("language_info", {})
        lexer = langinfo.get("pygments_lexer", langinfo.get("name", None))
        self.register_filter("highlight_code", self.filters.get(
            "highlight_code", RememberingHighlight(pygments_lexer=lexer, parent=self)))
        resources = self._init_resources(resources)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        return add_missing_alt(page), resources

    def _mathjax(self, resources):
        """{"mathjax_tag": the shared file's <script>} for a page of nbgrader's feedback
        folder, else {"mathjax": the script inlined}."""
        conv, info = self.parent, resources.get("nbgrader") or {}
        coursedir = getattr(conv, "coursedir", None)
        if coursedir is None or not hasattr(conv, "_format_dest") \
                or not (info.get("student") and info.get("assignment")):
            return {"mathjax": mathjax_js()}
        root = Path(coursedir.root) / coursedir.feedback_directory
        try:
            if ensure_shared(root) is None:        # no mathjax package: math stays as LaTeX
                return {}
        except OSError as exc:                     # the shared file cannot be written here
            self.log.warning("feedback/%s not written (%s): MathJax inlined in the page",
                             SHARED_FEEDBACK_DIR, exc)
            return {"mathjax": mathjax_js()}
        page_dir = os.path.abspath(conv._format_dest(info["assignment"], info["student"]))
        return {"mathjax_tag": shared_tag(page_dir, root)}


def configure_feedback(c):
    """nncourse's feedback pipeline in an nbgrader config (``course_config.configure_nbgrader``)."""
    c.GenerateFeedback.preprocessors = feedback_preprocessors()
    c.GenerateFeedback.exporter_class = FeedbackExporter
    c.FeedbackExporter.template_name = TEMPLATE
    c.FeedbackExporter.extra_template_basedirs = [str(TEMPLATES)]
    return c


def feedback_preprocessors():
    return [LockedGetGrades, HideHiddenTests, ReplaceSelfCheck, FeedbackSummary,
            CSSHTMLHeaderPreprocessor]
