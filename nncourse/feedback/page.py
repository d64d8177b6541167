"""The feedback page: nncourse's template (``templates/nncourse_feedback``) with MathJax 3
inlined and the accessibility style, and the nbgrader config that makes it
(``configure_feedback``)."""
from functools import lru_cache
from pathlib import Path

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor

from .preprocessors import FeedbackSummary, HideHiddenTests, LockedGetGrades, ReplaceSelfCheck

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
TEMPLATE = "nncourse_feedback"
A11Y_CSS = TEMPLATES / "shared" / "a11y.css"   # contrast and reflow rules, formgrader's page too
MATHJAX = "es5/tex-svg.js"         # MathJax 3 with its fonts inside (no other file to load)


@lru_cache(maxsize=1)
def mathjax_js():
    """MathJax's tex-svg.js from the installed ``mathjax`` package, safe to put inside a
    ``<script>`` element ("" when the package is missing: math then stays as LaTeX)."""
    import importlib.util
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return ""
    for base in spec.submodule_search_locations:
        path = Path(base) / "static" / "mathjax" / MATHJAX
        if path.is_file():
            js = path.read_text(encoding="utf-8")
            # "<!--" (in one regular expression: "\!" is the same character there) and
            # "</script" would change how the HTML parser finds the end of the element
            js = js.replace("<!--", "<\\!--").replace("</script", "<\\/script")
            return "" if "<script" in js.lower() or "</script" in js.lower() else js
    return ""


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


class FeedbackExporter(HTMLExporter):
    """HTMLExporter for feedback pages: nncourse's template and the inlined MathJax.

    Its own config section (``FeedbackExporter``) wins over ``HTMLExporter``'s, which
    formgrader's Generate Feedback sets to nbgrader's template."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = COMPILED
        return environment

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = resources if resources is not None else {}
        resources["nncourse"] = {"mathjax": mathjax_js(), "a11y_css": A11Y_CSS.read_text(encoding="utf-8")}
        return super().from_notebook_node(nb, resources, **kw)


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
