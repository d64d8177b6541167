"""Nothing a student wrote runs in anyone's browser: the graded notebooks are sanitized.

Formgrader renders a submission from its autograded notebook on disk, and the feedback HTML
is made from it too; a solution cell that displays ``<script>`` or ``<img onerror=…>``, or a
written answer with raw HTML, would otherwise run in the teacher's (or student's) browser -
in formgrader's case in the Jupyter server's origin, with the teacher's session.

``SanitizeSubmission`` runs among nbgrader's autograde preprocessors after the notebook was
executed and its grades saved (``nbconfig.grading_config``).  The sanitizing is done by
bleach (``bleach.Cleaner``, the library nbconvert's ``SanitizeHTML`` uses), with allowlists:

- ``text/html`` outputs, ``text/markdown`` outputs and raw cells: only formatting, tables and
  images; no ``<script>``, ``<style>``, ``<iframe>``, ``<form>``, ``<object>``, ``<embed>``,
  no event-handler attributes, links only to ``http``, ``https``, ``mailto`` (no
  ``javascript:``);
- ``image/svg+xml`` outputs (matplotlib's SVG): SVG drawing elements only (no ``<script>``,
  ``<foreignObject>``, ``<a>``, event handlers; CSS through bleach's CSS sanitizer);
- markdown cells the student wrote (any markdown cell that is not word for word one of the
  trusted source/release notebook's cells): rendered the way nbconvert renders markdown, then
  cleaned; when cleaning changes the rendered HTML (there was raw HTML or a ``javascript:``
  link), the cell's source is replaced by the cleaned HTML, otherwise it is kept as written;
- every other output type is dropped: ``application/javascript``, widget views
  (``application/vnd.jupyter.widget-view+json``), anything unknown; and the notebook's widget
  state (``metadata.widgets``, which nbconvert would load a widget manager for).
- PNG/JPEG images (a figure of matplotlib's inline backend, the grading kernel's): kept when
  their data is base64 (else dropped); their metadata keeps only a numeric ``width``/``height``,
  ``needs_background``, ``unconfined`` and an ``alt`` text of at most ``MAX_ALT`` characters
  (the kernel describes the figure, ``kernel_boot.figure_alt``; else ``IMAGE_ALT``): nbconvert
  writes ``width=…`` unquoted and reads image paths from ``metadata.filenames``;
- kept as they are: plain text, LaTeX, JSON, stdout/stderr and error outputs (nbconvert and
  JupyterLab escape those).
"""
import html
import re
from pathlib import Path

import nbformat
from bleach.css_sanitizer import ALLOWED_CSS_PROPERTIES, ALLOWED_SVG_PROPERTIES, CSSSanitizer
from bleach.sanitizer import Cleaner
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbconvert.preprocessors import Preprocessor
from nbgrader import utils as nbutils
from traitlets import Bool, Unicode

from ..core.notebook import SOLUTION_BEGIN, has_marker
from ..core.safetext import has_surrogates, replace_surrogates, scrub

HTML_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "blockquote", "br", "caption", "code", "col", "colgroup",
    "dd", "del", "details", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3",
    "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p", "pre", "q", "s",
    "samp", "small", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul", "var"})
HTML_ATTRIBUTES = {
    "*": ["class", "title", "align", "style"],
    "a": ["href", "title", "class"],
    "img": ["src", "alt", "title", "width", "height", "class", "style"],
    "td": ["colspan", "rowspan", "align", "class", "style"],
    "th": ["colspan", "rowspan", "align", "scope", "class", "style"],
    "ol": ["start", "type", "class"],
    "col": ["span", "class"], "colgroup": ["span", "class"],
}
PROTOCOLS = frozenset({"http", "https", "mailto"})
MARKDOWN_PROTOCOLS = PROTOCOLS | {"attachment"}      # ![](attachment:plot.png) in a markdown cell
_ATTACHMENT_SRC = re.compile(r'src="attachment:([^"]*)"')
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]+")
ATTACHMENT_TYPES = frozenset({"image/png", "image/jpeg", "image/svg+xml"})   # what nbconvert embeds

SVG_TAGS = frozenset({
    "svg", "g", "defs", "symbol", "use", "title", "desc", "metadata", "path", "rect", "circle",
    "ellipse", "line", "polyline", "polygon", "text", "tspan", "textPath", "clipPath", "mask",
    "pattern", "marker", "linearGradient", "radialGradient", "stop", "image"})
SVG_ATTRIBUTES = ["id", "class", "style", "transform", "x", "y", "x1", "y1", "x2", "y2", "cx",
                  "cy", "r", "rx", "ry", "d", "points", "width", "height", "viewbox",
                  "preserveaspectratio", "fill", "fill-opacity", "fill-rule", "stroke",
                  "stroke-width", "stroke-linecap", "stroke-linejoin", "stroke-dasharray",
                  "stroke-dashoffset", "stroke-miterlimit", "stroke-opacity", "opacity",
                  "clip-path", "clip-rule", "clippathunits", "mask", "font-family", "font-size",
                  "font-weight", "font-style", "text-anchor", "dominant-baseline", "dx", "dy",
                  "offset", "stop-color", "stop-opacity", "gradientunits", "gradienttransform",
                  "patternunits", "markerwidth", "markerheight", "refx", "refy", "orient",
                  "version", "xmlns", "href", "xlink:href"]
SVG_ATTRIBUTES += [a for a in ("viewBox", "preserveAspectRatio", "clipPathUnits", "gradientUnits",
                               "gradientTransform", "patternUnits", "markerWidth", "markerHeight",
                               "refX", "refY")]       # as the HTML parser spells them in SVG
SVG_PROTOCOLS = frozenset()          # only local references (href="#id"), no URL at all

SAFE_OUTPUT_KEYS = frozenset({"text/plain", "text/latex", "application/json"})
IMAGE_TYPES = ("image/png", "image/jpeg")
IMAGE_ALT = "あなたのコードが描いた図 (説明なし)"   # an image's alt text when it has none
MAX_ALT = 300                                     # characters of an image's alt text
MAX_IMAGE_SIDE = 10_000                           # largest width/height kept (pixels)

_CSS = CSSSanitizer(allowed_css_properties=ALLOWED_CSS_PROPERTIES,
                    allowed_svg_properties=ALLOWED_SVG_PROPERTIES)
_HTML = Cleaner(tags=HTML_TAGS, attributes=HTML_ATTRIBUTES, protocols=PROTOCOLS, strip=True,
                strip_comments=True, css_sanitizer=_CSS)
_MARKDOWN = Cleaner(tags=HTML_TAGS, attributes=HTML_ATTRIBUTES, protocols=MARKDOWN_PROTOCOLS,
                    strip=True, strip_comments=True, css_sanitizer=_CSS)
_SVG = Cleaner(tags=SVG_TAGS, attributes={"*": SVG_ATTRIBUTES}, protocols=SVG_PROTOCOLS,
               strip=True, strip_comments=True, css_sanitizer=_CSS)


def _text(value):
    return "".join(value) if isinstance(value, list) else str(value)


def clean_html(text):
    """HTML with only formatting, tables and images left (bleach)."""
    return _HTML.clean(_text(text))


def clean_svg(text):
    """An SVG with only drawing elements left (bleach); an ``<?xml …?>`` prolog is dropped."""
    text = _text(text)
    if text.lstrip().startswith("<?xml"):
        text = text.split("?>", 1)[1]
    return _SVG.clean(text)


class _CheckRenderer(IPythonRenderer):
    """nbconvert's markdown renderer, but an image ``attachment:NAME`` stays that URL (the
    page's renderer embeds the cell's attachment, an image, as a ``data:image/…`` URL) when
    the cell has that attachment as an image; else it is dropped (and noted in ``missing``):
    nbconvert would stop on it ("missing attachment") and fail the whole notebook."""

    def __init__(self, attachments=None):
        super().__init__(escape=False)
        self.images = {name for name, bundle in (attachments or {}).items()
                       if isinstance(bundle, dict) and ATTACHMENT_TYPES & set(bundle)}
        self.missing = []

    def _embed_image_or_attachment(self, src):
        if src.startswith("attachment:"):
            if src[len("attachment:"):] in self.images:
                return src
            self.missing.append(src)
            return ""
        return super()._embed_image_or_attachment(src)


def markdown2html(text, attachments=None):
    """(HTML, missing attachments) as nbconvert renders a markdown cell (``_CheckRenderer``)."""
    renderer = _CheckRenderer(attachments)
    return MarkdownWithMath(renderer=renderer).render(text), renderer.missing


def clean_markdown(text, attachments=None):
    """(markdown, changed): ``text`` itself when its rendering is already clean, else the
    cleaned rendering (HTML, which is valid markdown and renders the same minus the unsafe
    parts).  ``attachments``: the cell's (a pasted image, ``![](attachment:x.png)``, stays)."""
    text = _text(text)
    rendered, missing = markdown2html(text, attachments)
    cleaned = _MARKDOWN.clean(rendered)
    # raw HTML that nbconvert's renderer happens to escape may be HTML to another renderer
    # (JupyterLab's): the source itself must also be plain text or allowed tags only
    raw_html = "<" in text and _MARKDOWN.clean(text) != html.escape(text, quote=False)
    if cleaned == rendered and not raw_html and not missing:
        return text, False
    again = markdown2html(cleaned, attachments)[0]    # what a renderer makes of the cleaned cell
    if _MARKDOWN.clean(again) != again:   # (not stable: show the answer as escaped text)
        cleaned = f"<pre>{html.escape(text)}</pre>"
    return _embed_attachments(cleaned, attachments), True


def _embed_attachments(cleaned, attachments):
    """Cleaned HTML with each ``<img src="attachment:NAME">`` of an image the cell holds made
    a ``data:image/…;base64`` URL, as nbconvert embeds it from markdown (raw HTML is not)."""
    def embed(m):
        bundle = (attachments or {}).get(html.unescape(m.group(1)))
        for mime in ("image/svg+xml", "image/png", "image/jpeg"):       # nbconvert's order
            data = _text(bundle.get(mime, "")) if isinstance(bundle, dict) else ""
            if data and _BASE64.fullmatch(data):
                return f'src="data:{mime};base64,{"".join(data.split())}"'
        return 'src=""'
    return _ATTACHMENT_SRC.sub(embed, cleaned)


def image_metadata(metadata, mime):
    """An image output's metadata as nbconvert and JupyterLab read it (per type, then the
    output's own), reduced to safe values; ``alt`` always there."""
    metadata = metadata if isinstance(metadata, dict) else {}
    own = metadata.get(mime) if isinstance(metadata.get(mime), dict) else {}

    def get(key):
        return own.get(key, metadata.get(key))
    kept = {}
    for key in ("width", "height"):
        value = get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) \
                and 0 < value <= MAX_IMAGE_SIDE:
            kept[key] = int(value)
    if get("needs_background") in ("light", "dark"):
        kept["needs_background"] = get("needs_background")
    if get("unconfined") is True:
        kept["unconfined"] = True
    alt = get("alt")
    alt = " ".join(alt.split())[:MAX_ALT] if isinstance(alt, str) else ""
    kept["alt"] = alt or IMAGE_ALT
    return kept


def sanitize_outputs(outputs, log=None):
    """Code cell outputs with unsafe types dropped and HTML/SVG/markdown/images cleaned."""
    kept = []
    for out in outputs:
        if out.get("output_type") in ("stream", "error"):
            kept.append(out)
            continue
        data = out.get("data", {})
        metadata = {}
        for key in list(data):
            if key in SAFE_OUTPUT_KEYS:
                continue
            if key in IMAGE_TYPES:
                if isinstance(data[key], (str, list)) and _BASE64.fullmatch(_text(data[key])):
                    metadata[key] = image_metadata(out.get("metadata"), key)
                else:
                    if log:
                        log.info("sanitize: dropped a %s output that is not base64", key)
                    del data[key]
            elif key == "text/html":
                data[key] = clean_html(data[key])
            elif key == "image/svg+xml":
                data[key] = clean_svg(data[key])
            elif key == "text/markdown":
                data[key] = clean_markdown(data[key])[0]     # no attachments in an output
            else:
                if log:
                    log.info("sanitize: dropped a %s output", key)
                del data[key]
        if "metadata" in out:
            out["metadata"] = metadata
        if data or out.get("output_type") not in ("display_data", "execute_result",
                                                  "update_display_data"):
            kept.append(out)
    return kept


def trusted_markdown(*paths):
    """The markdown texts of the instructor's notebooks (cells nobody needs to clean)."""
    texts = set()
    for path in paths:
        try:
            nb = nbformat.read(str(path), as_version=4)
        except (OSError, ValueError):
            continue
        texts.update(c.source for c in nb.cells if c.cell_type == "markdown"
                     and not (nbutils.is_solution(c) and has_marker(c.source, SOLUTION_BEGIN)))
    return texts


def sanitize_notebook(nb, trusted=frozenset(), log=None):
    """Sanitize ``nb`` in place (see the module's docstring); returns it."""
    nb.metadata.pop("widgets", None)
    if has_surrogates(nb):          # e.g. an error message with "\udcff": not writable as UTF-8
        for key, value in scrub(dict(nb), replace_surrogates).items():
            nb[key] = nbformat.from_dict(value)
        if log:
            log.info("sanitize: replaced lone surrogates")
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = sanitize_outputs(cell.get("outputs", []), log)
        elif cell.cell_type == "markdown":
            if cell.source not in trusted:
                cell.source, changed = clean_markdown(cell.source, cell.get("attachments"))
                if changed and log:
                    log.info("sanitize: cleaned the HTML of a markdown cell")
        elif cell.cell_type == "raw":
            cell.source = clean_html(cell.source)
    return nb


class SanitizeSubmission(Preprocessor):
    """nbgrader autograde preprocessor: sanitize the executed submission (bleach)."""

    enabled = Bool(True, help="nbconvert preprocessors are off unless enabled; this one is "
                   "always on while grading.").tag(config=True)

    course_root = Unicode("", help="The course directory: markdown cells identical to one of "
                          "source/<assignment>/<notebook>.ipynb or its release are trusted "
                          "(kept as they are).").tag(config=True)

    def preprocess(self, nb, resources):
        meta = (resources or {}).get("nbgrader", {})
        aid, name = meta.get("assignment", ""), meta.get("notebook", "")
        trusted = set()
        if self.course_root and aid and name:
            root = Path(self.course_root)
            trusted = trusted_markdown(root / "source" / aid / f"{name}.ipynb",
                                       root / "release" / aid / f"{name}.ipynb")
        return sanitize_notebook(nb, trusted, self.log), resources
