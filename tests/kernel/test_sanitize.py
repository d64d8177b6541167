"""Nothing a student wrote runs in anyone's browser (nncourse/kernel/sanitize.py).

Fast: the sanitizer on hand-made notebooks and its place in the autograde pipeline.
Slow: a hostile submission (a1_loss) graded through the real pipeline, then its feedback
HTML and its formgrader page (a Jupyter server started here, token auth) opened in headless
Chromium: no payload runs - no hit on a recording server on 127.0.0.1, the page variable
and the title the payloads would set stay unset.  A control page with the same payloads,
unsanitized, proves that the browser would have run them.
"""
import base64
import http.server
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output, new_raw_cell

from nncourse.core.course import Course, copy_course
from nncourse.kernel import sanitize as S
from nncourse.kernel.nbconfig import nbgrader_config

ROOT = Path(__file__).resolve().parents[2]
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 32).decode()
UNSAFE = [re.compile(p, re.I) for p in (          # markup that runs or loads something
    r"<\s*(script|iframe|form|object|embed|foreignObject|style)\b", r"<[^>]*\son\w+\s*=",
    r"<[^>]*(href|src)\s*=\s*[\"']?\s*javascript:", r"\]\(\s*javascript:")]


def unsafe(text):
    """The unsafe markup in ``text`` (escaped text such as &lt;img onerror&gt; is inert)."""
    return [m.group(0) for p in UNSAFE for m in p.finditer(text)]


def display(data, kind="display_data"):
    return new_output(kind, data=data, **({"execution_count": 1} if kind == "execute_result" else {}))


def hostile_notebook():
    code = new_code_cell("x = 1", outputs=[
        display({"text/html": "<b>ok</b><script>window.__pwned=1</script>"
                              "<img src=x onerror=\"window.__pwned=2\"><iframe src='http://x'>"
                              "</iframe><form action='http://x'><input></form>"
                              "<a href=\"javascript:alert(1)\">link</a><a href='https://ok.example'>"
                              "fine</a><table><tr><td>1</td></tr></table>",
                 "text/plain": "<IPython.core.display.HTML object>"}),
        display({"image/svg+xml": "<?xml version='1.0'?><svg xmlns='http://www.w3.org/2000/svg' "
                                  "onload='window.__pwned=3'><script>window.__pwned=4</script>"
                                  "<foreignObject><img src=x onerror='window.__pwned=5'>"
                                  "</foreignObject><rect width='5' height='5' fill='red'/></svg>"}),
        display({"application/javascript": "window.__pwned=6", "text/plain": "js"}),
        display({"application/vnd.jupyter.widget-view+json": {"model_id": "m", "version_major": 2},
                 "text/plain": "IntSlider(value=0)"}),
        display({"image/png": PNG, "text/plain": "<Figure>"}),
        display({"text/markdown": "<img src=x onerror=window.__pwned=7> **md**"},
                "execute_result"),
        new_output("stream", name="stdout", text="<script>printed</script>\n"),
    ])
    answer = new_markdown_cell("損失関数は微分できるから <img src=x onerror=\"window.__pwned=8\">"
                               " [click](javascript:alert(1))",
                               metadata={"nbgrader": {"solution": True, "grade": True,
                                                      "grade_id": "why", "points": 2,
                                                      "locked": False, "schema_version": 3}})
    plain = new_markdown_cell("精度は **0/1** でしか変わらない。$a<b$ と `x<3`")
    trusted = new_markdown_cell("<div onclick='teacher()'>先生の説明</div>")
    raw = new_raw_cell("<script>window.__pwned=9</script>", metadata={"format": "text/html"})
    nb = new_notebook(cells=[code, answer, plain, trusted, raw])
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_sanitizer_removes_scripts_handlers_and_unsafe_outputs():
    nb = S.sanitize_notebook(hostile_notebook(),
                             trusted={"<div onclick='teacher()'>先生の説明</div>"})
    code, answer, plain, trusted, raw = nb.cells
    kinds = [sorted(o.get("data", {})) or [o.output_type] for o in code.outputs]
    assert kinds == [["text/html", "text/plain"], ["image/svg+xml"], ["text/plain"], ["text/plain"],
                     ["image/png", "text/plain"], ["text/markdown"], ["stream"]]
    html = code.outputs[0].data["text/html"]
    assert "<b>ok</b>" in html and "<table>" in html and "https://ok.example" in html
    svg = code.outputs[1].data["image/svg+xml"]
    assert svg.startswith("<svg") and "<rect" in svg
    assert code.outputs[4].data["image/png"] == PNG                  # plots kept (base64)
    assert code.outputs[6].text == "<script>printed</script>\n"      # plain text: escaped by renderers
    for text in (html, svg, code.outputs[5].data["text/markdown"], answer.source, raw.source):
        assert not unsafe(text), text
    assert "損失関数は微分できるから" in answer.source and "click" in answer.source
    assert plain.source == "精度は **0/1** でしか変わらない。$a<b$ と `x<3`"   # nothing to clean: as written
    assert trusted.source == "<div onclick='teacher()'>先生の説明</div>"      # the instructor's cell
    assert "widgets" not in nb.metadata


def test_image_outputs_keep_base64_data_and_safe_metadata_only():
    """A figure is kept with its alt text; an image whose data is not base64 is dropped, and
    metadata nbconvert would write into the page unquoted (``width=``) or read a path from
    (``filenames``) is dropped, in formgrader's and the feedback's renderings alike."""
    from nbconvert import HTMLExporter
    figure = new_output("display_data", data={"image/png": PNG, "text/plain": "<Figure>"},
                        metadata={"alt": "あなたのコードが描いた図 (1 個のグラフ): 「loss」",
                                  "needs_background": "light"})
    fake = new_output("display_data", data={"image/png": '" onerror="window.__pwned=10',
                                            "text/plain": "fake"})
    attrs = new_output("display_data", data={"image/jpeg": PNG}, metadata={
        "image/jpeg": {"width": "1 onerror=window.__pwned=11", "height": 300,
                       "alt": "x" * 5000},
        "filenames": {"image/jpeg": "javascript:window.__pwned=12"}})
    bare = new_output("execute_result", data={"image/png": PNG}, execution_count=1)
    nb = S.sanitize_notebook(new_notebook(cells=[new_code_cell("plt.show()", outputs=[
        figure, fake, attrs, bare])]))
    figure, fake, attrs, bare = nb.cells[0].outputs
    assert figure.data["image/png"] == PNG
    assert figure.metadata == {"image/png": {"alt": "あなたのコードが描いた図 (1 個のグラフ): 「loss」",
                                             "needs_background": "light"}}
    assert fake.data == {"text/plain": "fake"} and fake.metadata == {}
    assert attrs.metadata == {"image/jpeg": {"height": 300, "alt": "x" * S.MAX_ALT}}
    assert bare.metadata == {"image/png": {"alt": S.IMAGE_ALT}}
    for template in ("classic", "lab"):
        page = HTMLExporter(template_name=template).from_notebook_node(nb)[0]
        body = page[page.index("<body"):]
        assert "__pwned" not in body and "javascript:" not in body, template
        assert body.count(f"data:image/png;base64,{PNG}") == 2, template
        if template == "classic":           # lab's template writes no alt (ours does: feedback)
            assert 'alt="あなたのコードが描いた図 (1 個のグラフ): 「loss」"' in body


def test_sanitizer_keeps_a_matplotlib_svg_drawable():
    import io
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    buf = io.StringIO()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    clean = S.clean_svg(buf.getvalue())
    assert clean.count("<path") == buf.getvalue().count("<path") > 5
    assert "<clipPath" in clean and 'clip-path="url(#' in clean


def test_sanitizer_runs_after_execution_and_grading_in_the_autograde_pipeline():
    course = Course.load(ROOT)
    pre = list(nbgrader_config(course).Autograde.autograde_preprocessors)
    names = [p.__name__ for p in pre]
    assert names.index("SanitizeSubmission") > names.index("BudgetedExecute")
    assert names.index("SanitizeSubmission") > names.index("SaveAutoGrades")
    # as nbconvert calls it (a preprocessor that is not enabled silently does nothing)
    pp = S.SanitizeSubmission(config=nbgrader_config(course))
    nb, _ = pp(hostile_notebook(), {"nbgrader": {"assignment": "a1_loss",
                                                  "notebook": "loss_functions"}})
    assert not unsafe(nb.cells[0].outputs[0].data["text/html"])
    assert not unsafe(nb.cells[1].source)


# --- the real pipeline and a real browser -----------------------------------------------------
class Recorder(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):                                  # noqa: N802
        Recorder.hits.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def payloads(port):
    """HTML/SVG that, if it ran, sets window.__pwned, the title, and requests /hit-<where>."""
    def js(where):
        return (f"window.__pwned='{where}';document.title='PWNED-{where}';"
                f"new Image().src='http://127.0.0.1:{port}/hit-{where}'")
    html = (f"<script>{js('script')}</script>"
            f"<img src=x onerror=\"{js('onerror')}\">")
    svg = (f"<svg xmlns='http://www.w3.org/2000/svg' width='20' height='20' "
           f"onload=\"{js('svgonload')}\"><script>{js('svgscript')}</script>"
           "<rect width='20' height='20' fill='red'/></svg>")
    markdown = (f"損失関数は微分できるので学習に使えます。<img src=x onerror=\"{js('markdown')}\">"
                f" [詳しく](javascript:{js('mdlink')})")
    return html, svg, markdown, js


def hostile_submission(course, port):
    from nbgrader import utils as nbutils
    from nncourse.build import release_notebook
    from nncourse.cohort import reference_submission
    html, svg, markdown, js = payloads(port)
    nb = reference_submission(course, "a1_loss")
    for cell in nb.cells:
        if nbutils.is_solution(cell) and cell.cell_type == "code" and "def sum_squared_error" in cell.source:
            cell.source += ("\nfrom IPython.display import HTML, SVG, Javascript, display\n"
                            f"display(HTML({html!r}))\ndisplay(SVG({svg!r}))\n"
                            f"display(Javascript({js('javascript')!r}))\n"
                            "import io, matplotlib.pyplot as plt\nfrom IPython.display import Image\n"
                            "plt.plot([0, 1], [1, 0])\n_buf = io.BytesIO()\n"
                            "plt.savefig(_buf, format='png')\nplt.close()\n"
                            "display(Image(_buf.getvalue()))\n")
        elif nbutils.is_solution(cell) and cell.cell_type == "markdown":
            cell.source = markdown
    dest = course.submitted_dir("hostile", "a1_loss")
    dest.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, dest / release_notebook(course, "a1_loss").name)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def recorder():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


@pytest.fixture(scope="module")
def hostile_course(tmp_path_factory, recorder):
    from nncourse.build import ensure_built
    from nncourse.grade.run import grade
    course = Course.load(copy_course(ROOT, tmp_path_factory.mktemp("hostile") / "course"))
    ensure_built(course, ["a1_loss"])
    hostile_submission(course, recorder)
    run = grade(course, ["a1_loss"], jobs=1, progress=False)
    assert not run.not_graded, [r.get("error") for r in run.not_graded]
    return course, run


def assert_nothing_ran(driver, url, recorder, settle=3.0):
    Recorder.hits.clear()
    driver.get(url)
    time.sleep(settle)                   # onerror handlers and image loads happen after load
    assert driver.execute_script("return typeof window.__pwned") == "undefined", url
    assert "PWNED" not in driver.title, url
    assert Recorder.hits == [], (url, Recorder.hits)


def test_control_the_browser_runs_the_payloads_of_an_unsanitized_page(browser, recorder, tmp_path):
    html, svg, markdown, _ = payloads(recorder)
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>control</title></head><body>{html}{svg}"
                    "</body></html>", encoding="utf-8")
    Recorder.hits.clear()
    browser.get(page.as_uri())
    time.sleep(2)
    assert browser.execute_script("return typeof window.__pwned") == "string"
    assert Recorder.hits, "the recorder saw no request: the test could not detect a payload"


@pytest.mark.slow
def test_hostile_submission_is_sanitized_on_disk_and_in_the_feedback(hostile_course, browser, recorder):
    course, run = hostile_course
    graded = next(course.autograded_dir("hostile", "a1_loss").glob("*.ipynb"))
    nb = nbformat.read(graded, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown") + "\n".join(
        str(o.get("data", "")) for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    # (a "[…](javascript:…)" left inside the cleaned HTML is text: markdown inside HTML is not parsed)
    assert not [u for u in unsafe(text) if "](" not in u] and "application/javascript" not in text
    assert "損失関数は微分できるので学習に使えます" in text          # the answer itself is kept
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code"
               for o in c.outputs)                                       # a plot is kept
    score = next(r for r in run.results if r["student"] == "hostile")["score"]
    assert score == 7.0                                                  # still graded as correct
    page = course.feedback_dir("hostile", "a1_loss") / "loss_functions.html"
    assert_nothing_ran(browser, page.as_uri(), recorder)


@pytest.mark.slow
def test_hostile_submission_does_not_run_in_formgrader(hostile_course, browser, recorder):
    from nbgrader.api import Gradebook
    course, _ = hostile_course
    with Gradebook(course.db_url, course.course_id) as gb:
        nb_id = gb.find_submission_notebook("loss_functions", "a1_loss", "hostile").id
    port, token = free_port(), base64.b16encode(os.urandom(16)).decode().lower()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(course.root / ".jupyter-test"))
    log = open(course.root / "jupyter-server.log", "w")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "server", "--no-browser",
         "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={course.root}", "--allow-root"],
        cwd=course.root, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("the Jupyter server did not start: "
                        + (course.root / "jupyter-server.log").read_text())
        browser.get(f"{base}/formgrader?token={token}")        # logs in (cookie)
        assert "formgrader" in browser.page_source.lower()
        url = f"{base}/formgrader/submissions/{nb_id}"
        assert_nothing_ran(browser, url, recorder, settle=5.0)
        source = browser.page_source
        assert "損失関数は微分できるので学習に使えます" in source, source[:2000]
        assert "sum_squared_error" in source
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()
