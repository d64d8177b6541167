"""MathJax 3 of the feedback pages: one shared copy in the feedback folder, and self-contained
pages for everything that takes a page out of that folder.

MathJax's ``tex-svg.js`` (from the installed ``mathjax`` package, django-static-mathjax on
PyPI: MathJax 3 with its fonts inside, no CDN) is about 2 MB.  A page written by grading
loads it from ``feedback/_mathjax/tex-svg.js`` by a relative URL (``shared_tag``), written
once per course (``ensure_shared``), instead of carrying its own copy.  Every way a page
leaves the folder (the Moodle and Canvas feedback zips of ``export``, the LTI tool's
``/lti/feedback/<page>``) gives the page with MathJax inlined instead (``self_contained``),
as pages were before.  A page opened alone without the shared file (copied by hand) shows
all its text and the math as its LaTeX source, with a note saying so (the script's
``onerror``).

``_mathjax`` can never be a student's folder: a student id starts with a letter or a digit
(``lms.roster.STUDENT_ID``, which collect, the roster and the LTI tool check), and
``Course.students`` refuses a ``submitted/_mathjax`` folder (``core.course``).
"""
from __future__ import annotations

import hashlib
import html
import importlib.util
import os
import re
import tempfile
from functools import lru_cache
from pathlib import Path

from ..core.course import SHARED_FEEDBACK_DIR

MATHJAX = "es5/tex-svg.js"         # MathJax 3 with its fonts inside (no other file to load)
SHARED_DIR = SHARED_FEEDBACK_DIR   # feedback/_mathjax/: no student id starts with "_"
SHARED_FILE = "tex-svg.js"
NO_MATHJAX_CLASS = "nncourse-no-mathjax"   # on <html> when the shared file did not load
# the page's one reference to the shared file (``SHARED_SCRIPT`` finds it again)
TAG = ('<script src="{src}" data-nncourse-mathjax="shared" '
       "onerror=\"document.documentElement.classList.add('" + NO_MATHJAX_CLASS + "')\">"
       "</script>")
# the element as the page has it: nbconvert's HTMLExporter writes the page through
# BeautifulSoup, which puts the attributes in another order
SHARED_SCRIPT = re.compile(r"""<script\b[^>]*\sdata-nncourse-mathjax=["']?shared\b[^>]*>"""
                           r"""\s*</script>""")


@lru_cache(maxsize=1)
def mathjax_file() -> Path | None:
    """The installed ``mathjax`` package's tex-svg.js (None when the package is missing)."""
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        path = Path(base) / "static" / "mathjax" / MATHJAX
        if path.is_file():
            return path
    return None


@lru_cache(maxsize=1)
def mathjax_js() -> str:
    """MathJax's tex-svg.js, safe to put inside a ``<script>`` element ("" when the package is
    missing: math then stays as LaTeX)."""
    path = mathjax_file()
    if path is None:
        return ""
    js = path.read_text(encoding="utf-8")
    # "<!--" (in one regular expression: "\!" is the same character there) and
    # "</script" would change how the HTML parser finds the end of the element
    js = js.replace("<!--", "<\\!--").replace("</script", "<\\/script")
    return "" if "<script" in js.lower() or "</script" in js.lower() else js


@lru_cache(maxsize=1)
def _mathjax_digest() -> str:
    return hashlib.sha256(mathjax_file().read_bytes()).hexdigest()


_checked: dict[Path, tuple[int, int, int]] = {}   # this process's: shared file -> its stat


def ensure_shared(feedback_root: str | os.PathLike[str]) -> Path | None:
    """``<feedback_root>/_mathjax/tex-svg.js``, written (atomically) when missing or not the
    installed package's file; None when the ``mathjax`` package is missing.  A file this
    process checked and that has not changed since is not read again."""
    source = mathjax_file()
    if source is None:
        return None
    dest = Path(feedback_root) / SHARED_DIR / SHARED_FILE
    try:
        st = dest.stat()
        if _checked.get(dest) == (st.st_ino, st.st_size, st.st_mtime_ns):
            return dest
        if st.st_size == source.stat().st_size and \
                hashlib.sha256(dest.read_bytes()).hexdigest() == _mathjax_digest():
            _checked[dest] = (st.st_ino, st.st_size, st.st_mtime_ns)
            return dest
    except FileNotFoundError:
        pass
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{SHARED_FILE}.", dir=dest.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(source.read_bytes())
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    st = dest.stat()
    _checked[dest] = (st.st_ino, st.st_size, st.st_mtime_ns)
    return dest


def shared_tag(page_dir: str | os.PathLike[str], feedback_root: str | os.PathLike[str]) -> str:
    """The ``<script>`` element of a page in ``page_dir`` that loads the shared MathJax."""
    rel = os.path.relpath(Path(feedback_root) / SHARED_DIR / SHARED_FILE, page_dir)
    return TAG.format(src=html.escape(Path(rel).as_posix()))


def self_contained(page: str) -> str:
    """The page with the shared MathJax's ``<script>`` element (in its head) replaced by
    MathJax inlined; a page without one (written before, a failure page) is returned as it
    is."""
    head_end = page.find("<body")
    found = SHARED_SCRIPT.search(page, 0, head_end if head_end >= 0 else len(page))
    if found is None:
        return page
    js = mathjax_js()
    inline = f"<script>{js}</script>" if js else ""
    return page[:found.start()] + inline + page[found.end():]


def self_contained_page(path: str | os.PathLike[str]) -> bytes:
    """A feedback page's file as it leaves the feedback folder: MathJax inlined (UTF-8)."""
    return self_contained(Path(path).read_text(encoding="utf-8")).encode("utf-8")
