"""Similar solution cells between students' submissions, with copydetect (winnowing).

Each student's document is the code of their *solution cells* (the cells they write), one
after the other.  copydetect tokenizes it with Pygments and replaces every variable, function
and class name by one letter and strings by one, so renaming changes nothing; it keeps
k-grams' hashes chosen by winnowing, so moving functions or cells around changes nothing
either.  The release's own code (the stubs, ``def`` lines and docstrings the students start
from) is boilerplate: its k-grams never count.  Passages that most of the class shares
(SIMILARITY_COMMON_FRACTION) are boilerplate too, like MOSS's ``-m``: the short answers that
everyone writes the same way are no evidence of copying.

A pair's similarity is the larger of the two shares of code found in the other (copydetect's
two percentages); pairs at or above SIMILARITY_THRESHOLD are reported, with the matching code
highlighted side by side.

What it cannot detect: copying of a short answer (below the k-gram length, or shared by most
of the class); a copy rewritten by hand into another structure (loops for vectorised code);
copying from a source outside the class (the internet, a previous year) unless that source is
added as a submission.

The notebooks are read as grading reads them (``grading.submission``): a student's folder or
notebook that is a link (to the instructor's source/, to a system file) is never followed; that
student is listed as not compared, with why (``SimilarityResult.not_compared``), and counts
as unreadable (``SimilarityResult.unreadable``: ``nncourse similarity`` then exits 1, as
``nncourse grade`` does for the same submissions).  A submission too short to compare is
listed too, but is no failure.
"""
import html
import io
import itertools
from collections import Counter
from dataclasses import dataclass, field

import nbformat
import numpy as np

from ..core.notebook import is_solution_code, remove_solutions
from ..core.submission import read, refusal, scan
from ..core.settings import SCHEMA
from ..core.safetext import encodable

# noise threshold k (characters of the filtered code) and winnowing window; copydetect's
# defaults are 25 and 1; these were calibrated on autograders/catalogue/variants.toml
K = 25
WINDOW = 1
MIN_CHARS = 60                # documents shorter than this (filtered) are not compared
DEFAULT_COMMON_MIN = 4        # the common-passage rule needs at least this many students


@dataclass
class Pair:
    a: str
    b: str
    similarity: float            # max of the two shares
    shares: tuple                # (share of a found in b, share of b found in a)
    html_a: str = ""
    html_b: str = ""


@dataclass
class SimilarityResult:
    assignment: str
    threshold: float
    students: list = field(default_factory=list)
    pairs: list = field(default_factory=list)        # Pairs at or above the threshold
    scores: dict = field(default_factory=dict)       # (a, b) -> similarity, every pair
    not_compared: list = field(default_factory=list)  # (student, why), in student order
    unreadable: list = field(default_factory=list)    # of those, students whose submission
                                                      # could not be read (a failed run)

    def format(self):
        lines = [f"{self.assignment}: {len(self.students)} submission(s) compared, "
                 f"{len(self.pairs)} pair(s) at or above {self.threshold:.0%}"]
        lines += [f"  {p.a} ~ {p.b}: {p.similarity:.0%} ({p.shares[0]:.0%} / {p.shares[1]:.0%})"
                  for p in self.pairs]
        lines += [f"  not compared {s}: {why}" for s, why in self.not_compared]
        return "\n".join(lines)

    def html(self):
        """The report's section: the pairs and their matching code side by side, and the
        submissions not compared (with why)."""
        skipped = "".join(f"<li>{html.escape(s)}: {html.escape(why)}</li>"
                          for s, why in self.not_compared)
        skipped = f"<p>Not compared:</p><ul>{skipped}</ul>" if skipped else ""
        if not self.pairs:
            return (f"<p>{len(self.students)} submissions compared (solution cells only, "
                    f"copydetect); no pair at or above {self.threshold:.0%}.</p>{skipped}")
        out = [f"<p>{len(self.students)} submissions compared (solution cells only, copydetect); "
               f"pairs at or above {self.threshold:.0%}. Highlighted: code found in both "
               "(names and order ignored). Similar is not proof: read the code.</p>",
               "<table><tr><th class='l'>students</th><th>similarity</th></tr>"]
        out += [f"<tr><td class='l'><a href='#sim-{i}'>{html.escape(p.a)} ~ {html.escape(p.b)}"
                f"</a></td><td>{p.similarity:.0%}</td></tr>" for i, p in enumerate(self.pairs)]
        out.append("</table>" + skipped)
        for i, p in enumerate(self.pairs):
            out.append(
                f"<h3 id='sim-{i}'>{html.escape(p.a)} ~ {html.escape(p.b)}: {p.similarity:.0%}</h3>"
                "<table style='width:100%;table-layout:fixed'><tr>"
                f"<th class='l'>{html.escape(p.a)} ({p.shares[0]:.0%})</th>"
                f"<th class='l'>{html.escape(p.b)} ({p.shares[1]:.0%})</th></tr><tr>"
                f"<td class='l' style='vertical-align:top'><pre style='white-space:pre-wrap'>{p.html_a}</pre></td>"
                f"<td class='l' style='vertical-align:top'><pre style='white-space:pre-wrap'>{p.html_b}</pre></td>"
                "</tr></table>")
        return "".join(out) + "<style>mark{background:#ffd54f}</style>"


def solution_code(nb):
    """The code of a notebook's solution cells, one after the other."""
    return "\n\n".join(c.source for c in nb.cells
                       if is_solution_code(c)).strip() + "\n"


def release_code(course, aid):
    """The code cells of the source with the solution regions taken out: what the release
    gives every student (the stubs' own lines are boilerplate of no consequence)."""
    out = []
    for name in course.notebooks(aid):
        for c in course.read_source(aid, name).cells:
            if c.cell_type != "code":
                continue
            out.append(remove_solutions(c.source))
    return "\n\n".join(out)


def _fingerprint(code, boilerplate=None, window=WINDOW):
    from copydetect import CodeFingerprint
    return CodeFingerprint("solution.py", K, window, boilerplate=boilerplate,
                           fp=io.StringIO(code))


def _highlight(code, slices):
    """The code as HTML, its overlap in <mark>; always escaped (copydetect's
    highlight_overlap returns the code unescaped when there is no overlap)."""
    from copydetect.utils import highlight_overlap
    if not len(slices) or not np.asarray(slices).shape[-1]:
        return html.escape(code)
    return highlight_overlap(code, slices, "<mark>", "</mark>", escape_html=True)[0]


def compare(documents, boilerplate_code="", threshold=None, common_fraction=None,
            common_min=DEFAULT_COMMON_MIN, assignment=""):
    """Compare ``documents`` ({student: code}); returns a SimilarityResult."""
    from copydetect import compare_files
    threshold = SCHEMA["SIMILARITY_THRESHOLD"].default if threshold is None else threshold
    common_fraction = (SCHEMA["SIMILARITY_COMMON_FRACTION"].default if common_fraction is None
                       else common_fraction)
    bp = set(_fingerprint(boilerplate_code, window=1).hashes) if boilerplate_code.strip() else set()
    first = {s: _fingerprint(code, list(bp)) for s, code in documents.items()}
    counts = Counter(h for fp in first.values() for h in fp.hashes)
    if len(first) >= common_min:
        bp |= {h for h, n in counts.items() if n > common_fraction * len(first)}
    bp_arr = np.array(sorted(bp), dtype=np.int64) if bp else []
    fps = {s: _fingerprint(code, bp_arr) for s, code in documents.items()}
    short = sorted(s for s, fp in fps.items() if len(fp.filtered_code) < MIN_CHARS or not fp.hashes)
    fps = {s: fp for s, fp in fps.items() if s not in short}
    result = SimilarityResult(assignment, threshold, sorted(fps))
    result.not_compared = [(s, "too little solution code of its own to compare (beyond the "
                            "release's and the class's common code)") for s in short]
    for a, b in itertools.combinations(sorted(fps), 2):
        _, shares, slices = compare_files(fps[a], fps[b])
        shares = (float(shares[0]), float(shares[1]))
        sim = max(shares)
        result.scores[(a, b)] = sim
        if sim >= threshold:
            result.pairs.append(Pair(a, b, sim, shares, _highlight(fps[a].raw_code, slices[0]),
                                     _highlight(fps[b].raw_code, slices[1])))
    result.pairs.sort(key=lambda p: -p.similarity)
    return result


def submission_code(course, aid, student):
    """(solution code of the student's notebooks, "") or (None, why it is not compared).

    The notebooks are read as grading reads them (``grading.submission``): a student folder,
    submission folder or notebook that is a link is never followed, a notebook over
    NOTEBOOK_MAX_BYTES is not read; nothing outside submitted/ is opened."""
    try:
        found = scan(course, aid, student)
        notebooks = read(found, notebooks_only=True)
    except Exception as exc:           # whatever is in the folder costs only this student
        return None, refusal(exc)[1]
    code, unreadable = [], []
    for rel, data in sorted(notebooks.items()):
        try:
            code.append(solution_code(nbformat.reads(data.decode("utf-8"), as_version=4)))
        except Exception as exc:       # an unreadable notebook has no code to compare
            unreadable.append(f"{rel} is not a readable notebook ({type(exc).__name__})")
    if code:
        return "\n".join(code), ""
    why = unreadable + found.notes_en
    return None, encodable("no notebook read" + (f": {'; '.join(why)}" if why else ""))


def find_similar(course, aid, threshold=None):
    """Compare the solution cells of every submission of ``aid`` (submitted/)."""
    aid = course.select([aid])[0]
    docs, not_compared = {}, []
    for student in course.students([aid]):
        code, why = submission_code(course, aid, student)
        if code is None:
            not_compared.append((student, why))
        else:
            docs[student] = code
    if threshold is None:
        threshold = course.setting("SIMILARITY_THRESHOLD")
    result = compare(docs, release_code(course, aid), threshold,
                     course.setting("SIMILARITY_COMMON_FRACTION"),
                     assignment=aid)
    result.not_compared = sorted(result.not_compared + not_compared)
    result.unreadable = sorted(s for s, _ in not_compared)
    return result
