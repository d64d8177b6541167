"""The LTI 1.3 tool (nncourse/lti/) against a real LTI 1.3 platform on loopback: the PyPI
package lti1p3platform 0.1.8 (tests/lti_platform.py hosts it), with keys made here.  Real
OIDC login initiation, authentication and launch for an instructor and a student; a forged
id_token, a replayed one and a wrong deployment are refused with 4xx and a reason; no token
or key is in a response or a log line."""
import csv
import html
import json
import logging
import re
import socket
from datetime import datetime, timedelta, timezone
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests

import nbformat

from nncourse import api
from nncourse.build import build
from nncourse.cohort import reference_submission
from nncourse.cli import main as cli_main
from nncourse.core.course import CourseError
from nncourse.feedback.mathjax import mathjax_js, self_contained_page
from nncourse.lms import records
from nncourse.lms.roster import Roster
from nncourse.lti import api as lti_api, links

from conftest import configured_copy, set_manual
from lti_platform import INSTRUCTOR, LEARNER, Platform, browser_launch, launch_form, rsa_pem_pair

ROOT = Path(__file__).resolve().parents[2]
TOY = ROOT / "tests" / "fixtures" / "toy_course"

USERS = {
    "hint-teacher": {"id": "lms-user-7", "name": "Sensei Tanaka", "roles": [INSTRUCTOR]},
    "hint-alice": {"id": "lms-user-42", "name": "Alice Sato", "roles": [LEARNER],
                   "email": "alice@example.ac.jp", "student_id": "s2026001"},
    "hint-bob": {"id": "lms-user-43", "name": "Bob Ito", "roles": [LEARNER],
                 "student_id": "s2026002"},
    "hint-mallory": {"id": "lms-user-66", "name": "Mallory", "roles": [LEARNER],
                     "student_id": "../s2026001"},
    "hint-nobody": {"id": "lms-user-67", "name": "No Id", "roles": [LEARNER]},
    "hint-carol": {"id": "lms-user-44", "name": "Carol Abe", "roles": [LEARNER],
                   "student_id": "s2026003", "lis_in_launch": False},   # NRPS has it
    "hint-visitor": {"id": "lms-user-68", "name": "Visitor", "student_id": "s2026099", "roles": [
        "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Student",
        "http://purl.imsglobal.org/vocab/lis/v2/system/person#User"]},
    "hint-guest": {"id": "lms-user-99", "name": "Guest", "roles": [
        "http://purl.imsglobal.org/vocab/lis/v2/membership#Mentor"]},
}


@pytest.fixture
def platform():
    p = Platform()
    p.users.update(USERS)
    yield p
    p.stop()


@pytest.fixture
def lti(tmp_path, platform, caplog):
    """(course, tool server, platform): the tool's keys made by `nncourse lti keys`, the
    platform's values in course_config.py, the tool registered on the platform."""
    caplog.set_level(logging.DEBUG)
    course = configured_copy(TOY, tmp_path / "course", platform.settings())
    assert cli_main(["--course-dir", str(course.root), "lti", "keys"]) == 0
    server = lti_api.server(course).start()
    urls = server.urls()
    platform.register_tool(urls["login initiation URL"], urls["redirection (launch) URL"],
                           urls["public keyset (JWKS) URL"])
    yield course, server, platform
    server.stop()


def text(resp):
    return html.unescape(resp.text)


def body_attr(resp, name):
    m = re.search(rf'<body[^>]* data-{name}="([^"]*)"', resp.text)
    return m and m.group(1)


def test_instructor_and_student_launch_through_the_real_platform(lti, caplog):
    course, server, platform = lti
    teacher = browser_launch(requests.Session(), platform, "hint-teacher", "link-a1")
    assert teacher.status_code == 200, teacher.text
    assert (body_attr(teacher, "role"), body_attr(teacher, "user")) == ("instructor", "lms-user-7")
    assert "Sensei Tanaka (instructor), activity 'activity link-a1'" in text(teacher)

    student = browser_launch(requests.Session(), platform, "hint-alice", "link-a1")
    assert student.status_code == 200, student.text
    assert (body_attr(student, "role"), body_attr(student, "user")) == ("student", "lms-user-42")
    assert "Alice Sato さん" in text(student) and 'lang="ja"' in text(student)
    assert "form" not in student.text          # nothing to upload into before the link

    # a user who is neither instructor nor learner is refused after a valid launch
    guest = browser_launch(requests.Session(), platform, "hint-guest", "link-a1")
    assert guest.status_code == 403 and "neither instructor nor learner" in text(guest)
    # a student of the institution who is not a learner of this course is refused too
    visitor = browser_launch(requests.Session(), platform, "hint-visitor", "link-a1")
    assert visitor.status_code == 403 and "neither instructor nor learner" in text(visitor)
    # the platform fetched the tool's public key from the tool's JWKS URL: it is the pair's
    jwks = requests.get(server.urls()["public keyset (JWKS) URL"], timeout=10).json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]


def test_the_platforms_key_rotation_is_followed_by_its_jwks(lti):
    course, server, platform = lti
    old_kid = platform.conf.get_jwks()["keys"][0]["kid"]
    first = browser_launch(requests.Session(), platform, "hint-teacher", "link-a1")
    assert first.status_code == 200                 # the tool has seen the old key
    private, public = rsa_pem_pair()          # the platform rotates its key
    platform.registration.set_platform_private_key(private).set_platform_public_key(public)
    assert platform.conf.get_jwks()["keys"][0]["kid"] != old_kid
    resp = browser_launch(requests.Session(), platform, "hint-teacher", "link-a1")
    assert resp.status_code == 200 and body_attr(resp, "role") == "instructor"


def test_a_forged_id_token_is_refused(lti, caplog):
    course, server, platform = lti
    browser = requests.Session()
    action, fields = launch_form(browser, platform, "hint-alice", "link-a1")
    # the attacker keeps every claim (and the platform's kid) but signs with a key of theirs,
    # turning the learner into an instructor
    header = jwt.get_unverified_header(fields["id_token"])
    claims = jwt.decode(fields["id_token"], options={"verify_signature": False})
    claims["https://purl.imsglobal.org/spec/lti/claim/roles"] = [INSTRUCTOR]
    forged = jwt.encode(claims, rsa_pem_pair()[0], algorithm="RS256",
                        headers={"kid": header["kid"]})
    resp = browser.post(action, data={**fields, "id_token": forged}, timeout=30)
    assert resp.status_code == 403
    assert "LTI launch refused: Can't decode id_token: Signature verification failed" in text(resp)
    assert body_attr(resp, "role") == ""
    assert "LTI launch refused: Can't decode id_token" in caplog.text
    assert_no_secrets(course, [forged, fields["id_token"]], [resp], caplog)


def test_a_replayed_or_stolen_launch_is_refused(lti, caplog):
    course, server, platform = lti
    browser = requests.Session()
    action, fields = launch_form(browser, platform, "hint-alice", "link-a1")
    # the form posted from another browser (without the state cookie the login set) is refused
    stolen = requests.Session().post(action, data=fields, timeout=30)
    assert stolen.status_code == 403 and "LTI launch refused: State not found" in text(stolen)
    first = browser.post(action, data=fields, timeout=30)
    assert first.status_code == 200 and body_attr(first, "role") == "student"
    again = browser.post(action, data=fields, timeout=30)     # same cookies, same form
    assert again.status_code == 403 and "LTI launch refused: Invalid Nonce" in text(again)
    assert body_attr(again, "role") == ""
    assert_no_secrets(course, [fields["id_token"]], [stolen, first, again], caplog)


def test_a_wrong_deployment_is_refused(lti, caplog):
    course, server, platform = lti
    platform.registration.set_deployment_id("deployment-of-another-course")
    resp = browser_launch(requests.Session(), platform, "hint-teacher", "link-a1")
    assert resp.status_code == 403
    assert "LTI launch refused: Unable to find deployment" in text(resp)
    assert body_attr(resp, "role") == ""


def test_another_issuer_is_refused_at_login(lti):
    course, server, platform = lti
    url = platform.login_url("hint-teacher", "link-a1").replace(
        "iss=http", "iss=https%3A%2F%2Fevil.example%2F&x=")
    resp = requests.get(url, timeout=30, allow_redirects=False)
    assert resp.status_code == 403 and "LTI login refused" in text(resp)


def assert_no_secrets(course, tokens, responses, caplog):
    """No id_token (whole or its signature) nor any part of the tool's private key is in a
    response or a log record."""
    private = (course.root / "lti_keys" / "private.pem").read_text()
    body_lines = [line for line in private.splitlines() if "-----" not in line]
    texts = [r.text for r in responses] + [str(dict(r.headers)) for r in responses]
    texts.append(caplog.text)
    for text in texts:
        for token in tokens:
            assert token not in text and token.split(".")[2] not in text
        assert not any(line in text for line in body_lines)


def test_keys_are_made_once_git_ignored_and_private(tmp_path):
    course = configured_copy(TOY, tmp_path / "course")
    folder = lti_api.keys(course)
    assert folder == course.root / "lti_keys"
    assert (folder / "private.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(CourseError, match="exists already.*--rotate"):
        lti_api.keys(course)
    old = (folder / "private.pem").read_text()
    lti_api.keys(course, rotate=True)
    assert (folder / "private.pem").read_text() != old
    assert [p.read_text() for p in folder.glob("private.*T*.pem")] == [old]
    # git ignores the whole folder (its own .gitignore), even in a repository without the rule
    subprocess.run(["git", "init", "-q", str(course.root)], check=True)
    status = subprocess.run(["git", "-C", str(course.root), "status", "--porcelain",
                             "--untracked-files=all"], capture_output=True, text=True,
                            check=True).stdout
    assert "lti_keys" not in status and "course_config.py" in status


def test_serve_says_the_keys_are_missing(tmp_path, platform):
    course = configured_copy(TOY, tmp_path / "course", platform.settings())
    with pytest.raises(CourseError, match=r"no LTI key pair in .*lti_keys: run `nncourse lti "
                       "keys` first"):
        lti_api.server(course)


def test_serve_says_which_platform_value_is_missing(tmp_path):
    course = configured_copy(TOY, tmp_path / "course", 'LTI_ISSUER = "https://lms.example"')
    lti_api.keys(course)
    with pytest.raises(CourseError, match="LTI_CLIENT_ID, LTI_AUTH_LOGIN_URL, "
                       "LTI_AUTH_TOKEN_URL, LTI_KEY_SET_URL, LTI_DEPLOYMENT_IDS"):
        lti_api.server(course)


def form_fields(resp):
    """The action and csrf of the form on a tool page."""
    action = re.search(r'<form method="post" action="([^"]+)"', resp.text).group(1)
    csrf = re.search(r'name="csrf" value="([^"]+)"', resp.text).group(1)
    return html.unescape(action), html.unescape(csrf)


def instructor_links(platform, link, aid):
    browser = requests.Session()
    page = browser_launch(browser, platform, "hint-teacher", link)
    action, csrf = form_fields(page)
    return browser.post(action, data={"csrf": csrf, "assignment": aid}, timeout=30)


def test_instructor_links_the_activity_and_a_student_uploads_into_submitted(lti):
    course, server, platform = lti
    nb = (course.root / "source" / "t1_square" / "square.ipynb").read_bytes()
    # before the link a student is told the activity is not ready, and cannot upload
    early = requests.Session()
    resp = browser_launch(early, platform, "hint-alice", "link-a1")
    assert resp.status_code == 200 and "準備中" in resp.text and body_attr(resp, "assignment") == ""

    # the instructor's launch links LMS activity link-a1 to t1_square
    teacher = requests.Session()
    page = browser_launch(teacher, platform, "hint-teacher", "link-a1")
    assert "not linked yet" in text(page) and body_attr(page, "assignment") == ""
    action, csrf = form_fields(page)
    bad = teacher.post(action, data={"csrf": csrf, "assignment": "../t1_square"}, timeout=30)
    assert bad.status_code == 400 and "is not an assignment of this course" in text(bad)
    linked = teacher.post(action, data={"csrf": csrf, "assignment": "t1_square"}, timeout=30)
    assert linked.status_code == 200 and body_attr(linked, "assignment") == "t1_square"
    saved = json.loads((course.root / "lti" / "links.json").read_text())
    assert [v["assignment"] for v in saved.values()] == ["t1_square"]
    assert [json.loads(k)[1:] for k in saved] == [["deployment-1", "course-ml-2026", "link-a1"]]
    # another activity of the course is not linked by it
    other = browser_launch(requests.Session(), platform, "hint-alice", "link-a2")
    assert body_attr(other, "assignment") == ""

    # the student's launch shows the assignment; the upload lands under the LMS's student id
    alice = requests.Session()
    page = browser_launch(alice, platform, "hint-alice", "link-a1")
    assert body_attr(page, "assignment") == "t1_square"
    assert "ダウンロード" not in page.text                 # no release built yet: no link
    action, csrf = form_fields(page)
    before = datetime.now(timezone.utc)
    resp = alice.post(action, data={"csrf": csrf, "student": "s2026002"},   # a field is no id
                      files={"notebook": ("square (1).ipynb", nb)}, timeout=30)
    after = datetime.now(timezone.utc)
    assert resp.status_code == 200 and "提出を受け付けました" in resp.text, text(resp)
    dest = course.submitted_dir("s2026001", "t1_square")
    assert (dest / "square.ipynb").read_bytes() == nb       # a copy's name: collect's rule
    when = datetime.fromisoformat((dest / "timestamp.txt").read_text())
    assert before <= when <= after                           # the tool's time, not the student's
    rec = records.load(course, "t1_square")["s2026001"]
    assert rec["lms"] == "lti" and rec["lti_user"] == "lms-user-42"
    assert rec["submitted_at"] == when.isoformat()
    assert sorted(p.name for p in (course.root / "submitted").iterdir()) == ["s2026001"]

    # a newer upload replaces it; the old one is kept in the backup folder (collect's rule)
    nb2 = nb + b"\n"
    resp = alice.post(action, data={"csrf": csrf}, files={"notebook": ("square.ipynb", nb2)},
                      timeout=30)
    assert resp.status_code == 200 and (dest / "square.ipynb").read_bytes() == nb2
    backups = list((course.root / "submitted" / ".nncourse-backup" / "s2026001").rglob("*.ipynb"))
    assert [b.read_bytes() for b in backups] == [nb]


def test_uploads_that_collect_would_refuse_are_refused_and_write_nothing(lti):
    course, server, platform = lti
    assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
    nb = (course.root / "source" / "t1_square" / "square.ipynb").read_bytes()

    def student_form(hint):
        browser = requests.Session()
        return browser, *form_fields(browser_launch(browser, platform, hint, "link-a1"))

    bob, action, csrf = student_form("hint-bob")
    resp = bob.post(action, data={"csrf": csrf}, files={"notebook": ("notes.txt", b"hi")},
                    timeout=30)
    assert resp.status_code == 422 and "not a notebook of t1_square (square)" in text(resp)
    # a student id from the LMS that is no student id is refused, nothing is written
    mallory, action, csrf = student_form("hint-mallory")
    resp = mallory.post(action, data={"csrf": csrf}, files={"notebook": ("square.ipynb", nb)},
                        timeout=30)
    assert resp.status_code == 422 and "does not look like a student id" in text(resp)
    # without the launch's CSRF token, or without a launch at all, nothing is accepted
    for guess in ("guess", "学籍番号"):
        resp = bob.post(action, data={"csrf": guess}, timeout=30,
                        files={"notebook": ("square.ipynb", nb)})
        assert resp.status_code == 403 and "CSRF token does not match" in text(resp)
    resp = requests.post(action, data={"csrf": csrf}, files={"notebook": ("square.ipynb", nb)},
                         timeout=30)
    assert resp.status_code == 403 and "no launch in this browser session" in text(resp)
    # a student cannot link (act as an instructor); a launch without a student id cannot upload
    resp = bob.post(server.url + "/lti/link", data={"csrf": form_fields(
        browser_launch(bob, platform, "hint-bob", "link-a1"))[1], "assignment": "t2_train"},
        timeout=30)
    assert resp.status_code == 403 and "only an instructor's launch may link" in text(resp)
    nobody, action, csrf = student_form("hint-nobody")
    resp = nobody.post(action, data={"csrf": csrf}, files={"notebook": ("square.ipynb", nb)},
                       timeout=30)
    assert resp.status_code == 403 and "carries no student id" in text(resp)
    # an instructor's launch cannot upload as a student
    teacher = requests.Session()
    _, tcsrf = form_fields(browser_launch(teacher, platform, "hint-teacher", "link-a1"))
    resp = teacher.post(action, data={"csrf": tcsrf}, files={"notebook": ("square.ipynb", nb)},
                        timeout=30)
    assert resp.status_code == 403 and "only a student's launch may upload" in text(resp)
    assert not (course.root / "submitted").exists()
    assert [v["assignment"] for v in links.load(course).values()] == ["t1_square"]


def test_an_upload_over_the_collect_limit_is_refused(tmp_path, platform):
    course = configured_copy(TOY, tmp_path / "course",
                             platform.settings() + "\nCOLLECT_MAX_FILE_BYTES = 1000")
    lti_api.keys(course)
    server = lti_api.server(course).start()
    try:
        urls = server.urls()
        platform.register_tool(*urls.values())
        assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
        alice = requests.Session()
        action, csrf = form_fields(browser_launch(alice, platform, "hint-alice", "link-a1"))
        nb = (course.root / "source" / "t1_square" / "square.ipynb").read_bytes()
        assert len(nb) > 1000
        resp = alice.post(action, data={"csrf": csrf}, files={"notebook": ("square.ipynb", nb)},
                          timeout=30)
        assert resp.status_code == 422 and "over COLLECT_MAX_FILE_BYTES 1,000" in text(resp)
        assert not (course.root / "submitted").exists()
    finally:
        server.stop()


def test_the_roster_comes_from_the_platforms_nrps(lti, caplog):
    course, server, platform = lti
    # the platform's NRPS refuses a request without the tool's access token
    assert requests.get(platform.url + "/nrps", timeout=10).status_code == 401
    assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
    teacher = requests.Session()
    page = browser_launch(teacher, platform, "hint-teacher", "link-a1")
    csrf = form_fields(page)[1]
    roster_url = server.url + "/lti/roster"
    assert f'action="{roster_url}"' in page.text
    # a student's launch cannot read it
    bob = requests.Session()
    bcsrf = form_fields(browser_launch(bob, platform, "hint-bob", "link-a1"))[1]
    resp = bob.post(roster_url, data={"csrf": bcsrf}, timeout=30)
    assert resp.status_code == 403 and "only an instructor's launch may read the roster" in text(resp)
    assert not (course.root / "lti" / "roster.csv").exists()

    resp = teacher.post(roster_url, data={"csrf": csrf}, timeout=30)
    assert resp.status_code == 200, text(resp)
    assert "Roster saved: 3 learners in lti/roster.csv." in text(resp)
    assert "LMS user lms-user-66: student id '../s2026001' is not a valid id" in text(resp)
    assert "LMS user lms-user-67: no lis_person_sourcedid" in text(resp)
    roster = Roster.load(course.root / "lti" / "roster.csv")      # collect's roster reader
    assert [(s.student_id, s.name, s.email, s.lti_user_id) for s in roster.students] == [
        ("s2026001", "Alice Sato", "alice@example.ac.jp", "lms-user-42"),
        ("s2026002", "Bob Ito", "", "lms-user-43"), ("s2026003", "Carol Abe", "", "lms-user-44")]
    # a launch without lis_person_sourcedid finds its student id in the roster from NRPS
    carol = requests.Session()
    action, ccsrf = form_fields(browser_launch(carol, platform, "hint-carol", "link-a1"))
    nb = (course.root / "source" / "t1_square" / "square.ipynb").read_bytes()
    up = carol.post(action, data={"csrf": ccsrf}, files={"notebook": ("square.ipynb", nb)},
                    timeout=30)
    assert up.status_code == 200 and "提出を受け付けました" in up.text
    assert (course.submitted_dir("s2026003", "t1_square") / "square.ipynb").read_bytes() == nb
    # the access token the platform gave the tool is in no response or log line
    assert len(platform.issued_tokens) == 1
    assert_no_secrets(course, platform.issued_tokens, [page, resp], caplog)


@pytest.mark.slow          # real grading of two submissions: about 45 s
def test_grades_go_back_by_ags_with_the_csv_exports_numbers(tmp_path, platform, caplog, capsys,
                                                            browser):
    """Instructor link -> two students upload through the LMS -> real grading -> the AGS
    scores the platform holds equal grades_<aid>.csv (late penalty applied); a rerun is
    idempotent; a refused post is retried, and reported when it stays refused."""
    chromium = browser               # below, "browser" is a student's requests session
    caplog.set_level(logging.DEBUG)
    due = (datetime.now(timezone.utc) - timedelta(hours=36)).isoformat()   # 2 started days
    course = configured_copy(TOY, tmp_path / "course", platform.settings() + f"""
DUE_DATES = {{"t1_square": {due!r}}}
LATE_PENALTY = {{"policy": "per_day", "percent_per_day": 10, "floor_percent": 50}}""")
    lti_api.keys(course)
    server = lti_api.server(course).start()
    try:
        platform.register_tool(*server.urls().values())
        with pytest.raises(api.ExportError, match="no LMS activity with a gradebook column"):
            lti_api.export(course, "t1_square")
        assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
        # a second activity, launched without a line item: the tool makes the column
        platform.no_lineitem.add("link-b1")
        assert instructor_links(platform, "link-b1", "t1_square").status_code == 200
        build(course, ["t1_square"])
        ref = reference_submission(course, "t1_square")
        wrong = nbformat.reads(nbformat.writes(ref), as_version=4)
        for cell in wrong.cells:
            cell.source = cell.source.replace("return x * x", "return x + x")
        for hint, nb in (("hint-alice", ref), ("hint-bob", wrong)):
            browser = requests.Session()
            page = browser_launch(browser, platform, hint, "link-a1")
            action, csrf = form_fields(page)
            # the release, as built, is downloaded from the page; nothing else is served
            href = html.unescape(re.search(r'<a href="([^"]+)" download>', page.text).group(1))
            assert href == server.url + "/lti/release/square.ipynb"
            got = browser.get(href, timeout=30)
            assert got.status_code == 200
            assert got.content == (course.release_dir("t1_square") / "square.ipynb").read_bytes()
            for bad in ("..%2Fcourse_config.py", "%2E%2E%2F%2E%2E%2Fcourse_config.py",
                        "gradebook.db"):
                miss = browser.get(f"{server.url}/lti/release/{bad}", timeout=30)
                assert miss.status_code == 404 and "course" not in miss.headers.get(
                    "Content-Disposition", "")
            assert requests.get(href, timeout=30).status_code == 403   # no launch: no file
            resp = browser.post(action, data={"csrf": csrf}, timeout=30, files={
                "notebook": ("square.ipynb", nbformat.writes(nb).encode())})
            assert resp.status_code == 200, text(resp)
        # the platform checks the tool's token requests against the tool's JWKS URL: the
        # tool serves while grades are sent
        export_and_check(course, platform, caplog, capsys, server, chromium, tmp_path)
    finally:
        server.stop()


def wait_until(check, what, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")


def feedback_links(platform, hint):
    """A student's launch of link-a1: (their browser, the feedback links on their page)."""
    browser = requests.Session()
    page = browser_launch(browser, platform, hint, "link-a1")
    assert page.status_code == 200, text(page)
    return browser, [html.unescape(h) for h in re.findall(r'<a href="([^"]+/lti/feedback/[^"]+)"',
                                                          page.text)]


def export_and_check(course, platform, caplog, capsys, server, chromium, tmp_path):
    api.grade(course, ["t1_square"], progress=False)
    # graded, not returned yet: no feedback on the student's page, none served
    alice, shown = feedback_links(platform, "hint-alice")
    assert shown == []
    assert alice.get(server.url + "/lti/feedback/square.html", timeout=30).status_code == 404
    sheet = api.export(course, "t1_square", "csv")
    with open(sheet.files[0], encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert rows["s2026001"]["penalty_percent"] == "20" and rows["s2026001"]["status"] == "graded"
    assert float(rows["s2026002"]["score"]) < float(rows["s2026001"]["score"])

    sent = lti_api.export(course, "t1_square")
    assert sent.problems == [] and sent.not_graded == []
    column = platform.scores["link-a1"]
    users = {"s2026001": "lms-user-42", "s2026002": "lms-user-43"}
    assert sorted(column) == sorted(users.values())
    for sid, user in users.items():
        got = column[user]
        assert got["scoreGiven"] == float(rows[sid]["lms_grade"])
        assert got["scoreMaximum"] == float(rows[sid]["lms_max_grade"])
        pending = float(rows[sid]["manual_pending_points"]) > 0
        assert (got["activityProgress"], got["gradingProgress"]) == (
            "Completed", "PendingManual" if pending else "FullyGraded")
        assert f"得点: {rows[sid]['score']} /" in got["comment"] and "20" in got["comment"]
        assert ("採点待ち" in got["comment"]) == pending
    check_feedback_from_the_lms(course, platform, server, chromium, tmp_path)
    # the toy assignment has a written answer no one has graded yet
    assert {s["gradingProgress"] for s in column.values()} == {"PendingManual"}
    # the same scores landed in the column the tool made, whose maximum is the export's
    assert list(platform.lineitems) == ["created-1"]
    assert platform.lineitems["created-1"]["scoreMaximum"] == float(rows["s2026001"][
        "lms_max_grade"])
    made = platform.scores["created-1"]
    assert {u: (s["scoreGiven"], s["comment"]) for u, s in made.items()} == \
        {u: (s["scoreGiven"], s["comment"]) for u, s in column.items()}
    first = dict(column)

    # the teacher grades alice's written answer: her next export says FullyGraded
    set_manual(course, "t1_square", "square", "s2026001", "answer_why", 1.0)
    api.grade(course, ["t1_square"], progress=False)
    sheet = api.export(course, "t1_square", "csv")
    with open(sheet.files[0], encoding="utf-8") as f:
        rows = {r["student_id"]: r for r in csv.DictReader(f)}
    assert rows["s2026001"]["manual_pending_points"] == "0"
    assert lti_api.export(course, "t1_square").problems == []
    assert column["lms-user-42"]["gradingProgress"] == "FullyGraded"
    assert column["lms-user-42"]["scoreGiven"] == float(rows["s2026001"]["lms_grade"])
    assert column["lms-user-42"]["scoreGiven"] > first["lms-user-42"]["scoreGiven"]
    assert "採点待ち" not in column["lms-user-42"]["comment"]
    assert column["lms-user-43"]["gradingProgress"] == "PendingManual"
    first = dict(column)

    # a rerun sends the same grades again (the LMS keeps one per student)
    lti_api.export(course, "t1_square")
    assert platform.score_posts == 12           # 3 exports x 2 students x 2 columns
    assert list(platform.lineitems) == ["created-1"]      # no column made by an export
    assert {u: s["scoreGiven"] for u, s in column.items()} == \
        {u: s["scoreGiven"] for u, s in first.items()}
    # one refused post is retried; posts that stay refused are reported, exit status 1
    platform.refuse_scores = 1
    assert lti_api.export(course, "t1_square").problems == []
    assert platform.score_posts == 16
    platform.refuse_scores = 100
    capsys.readouterr()
    assert cli_main(["--course-dir", str(course.root), "export", "t1_square",
                     "--format", "lti"]) == 1
    out = capsys.readouterr().out
    assert out.count("the LMS refused the grade") == 4 and "403" in out
    assert platform.issued_tokens
    assert_no_secrets(course, platform.issued_tokens, [], caplog)
    assert not any(tok in out for tok in platform.issued_tokens)


def test_the_cli_makes_keys_once_and_serves_the_tool(tmp_path, platform, capsys):
    course = configured_copy(TOY, tmp_path / "course", platform.settings())
    args = ["--course-dir", str(course.root), "lti", "keys"]
    assert cli_main(args) == 0
    assert cli_main(args) == 2 and "--rotate" in capsys.readouterr().err
    proc = subprocess.Popen([sys.executable, "-m", "nncourse.cli", "--course-dir",
                             str(course.root), "lti", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        urls = {}
        for line in proc.stdout:
            if line.startswith("serving"):
                break
            what, _, url = line.strip().partition(": ")
            urls[what] = url
        assert list(urls) == ["login initiation URL", "redirection (launch) URL",
                              "public keyset (JWKS) URL"]
        keys = requests.get(urls["public keyset (JWKS) URL"], timeout=30).json()["keys"]
        assert len(keys) == 1 and "d" not in keys[0]
        platform.register_tool(*urls.values())
        browser = requests.Session()
        action, fields = launch_form(browser, platform, "hint-teacher", "link-a1")
        resp = browser.post(action, data=fields, timeout=30)
        assert resp.status_code == 200 and body_attr(resp, "role") == "instructor"
        again = browser.post(action, data=fields, timeout=30)
        assert again.status_code == 403
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=30)
    # the command's log says who launched and why a launch was refused, and nothing secret
    assert "LTI launch: lms-user-7 as instructor" in err
    assert "LTI launch refused: Invalid Nonce" in err and "POST /lti/launch" in err
    private = (course.root / "lti_keys" / "private.pem").read_text()
    for secret in [fields["id_token"], fields["id_token"].split(".")[2]] + [
            line for line in private.splitlines() if "-----" not in line]:
        assert secret not in out + err


def restarted(course, server):
    """The tool stopped and started again on the same URL (what the platform registered)."""
    port = int(server.url.rsplit(":", 1)[1])
    server.stop()
    return lti_api.server(course, port=port).start()


def test_launch_state_survives_a_restart_of_the_tool(lti, caplog):
    course, server, platform = lti
    # the OIDC login is done (state cookie set, nonce issued) and the tool restarts
    alice = requests.Session()
    action, fields = launch_form(alice, platform, "hint-alice", "link-a1")
    teacher = requests.Session()                 # an instructor launched before the restart
    taction, tcsrf = form_fields(browser_launch(teacher, platform, "hint-teacher", "link-a1"))
    server = restarted(course, server)
    try:
        first = alice.post(action, data=fields, timeout=30)
        assert first.status_code == 200 and body_attr(first, "role") == "student", text(first)
        # the instructor's session still holds: the form posted after the restart links
        linked = teacher.post(taction, data={"csrf": tcsrf, "assignment": "t1_square"},
                              timeout=30)
        assert linked.status_code == 200 and body_attr(linked, "assignment") == "t1_square"
        server = restarted(course, server)
        # the nonce used before this restart stays used
        again = alice.post(action, data=fields, timeout=30)
        assert again.status_code == 403 and "LTI launch refused: Invalid Nonce" in text(again)
        assert body_attr(again, "role") == ""
    finally:
        server.stop()
    kept = course.root / "lti" / "launches.json"
    assert kept.stat().st_mode & 0o777 == 0o600
    assert (course.root / "lti_keys" / "session_secret").stat().st_mode & 0o777 == 0o600
    assert fields["id_token"].split(".")[2] not in kept.read_text()   # claims, not the token
    assert_no_secrets(course, [fields["id_token"]], [first, linked, again], caplog)


def test_the_kept_launch_state_is_bounded(tmp_path, platform):
    course = configured_copy(TOY, tmp_path / "course",
                             platform.settings() + "\nLTI_STATE_MAX_ENTRIES = 4")
    lti_api.keys(course)
    server = lti_api.server(course).start()
    try:
        platform.register_tool(*server.urls().values())
        started = []
        for _ in range(5):              # each login keeps its nonce: the first one's is dropped
            browser = requests.Session()
            started.append((browser, *launch_form(browser, platform, "hint-bob", "link-a1")))
        assert len(json.loads((course.root / "lti" / "launches.json").read_text())) == 4
        oldest, newest = started[0], started[-1]
        resp = oldest[0].post(oldest[1], data=oldest[2], timeout=30)
        assert resp.status_code == 403 and "LTI launch refused" in text(resp)
        resp = newest[0].post(newest[1], data=newest[2], timeout=30)
        assert resp.status_code == 200 and body_attr(resp, "role") == "student"
        assert len(json.loads((course.root / "lti" / "launches.json").read_text())) <= 4
    finally:
        server.stop()


def test_an_activity_without_a_line_item_gets_one_made_once(lti):
    course, server, platform = lti
    platform.no_lineitem.update({"link-b1", "link-b2"})   # launches offer the lineitems URL only
    resp = instructor_links(platform, "link-b1", "t1_square")
    assert resp.status_code == 200 and "Grades of t1_square go to the LMS gradebook column" in \
        text(resp)
    assert list(platform.lineitems) == ["created-1"]
    item = platform.lineitems["created-1"]
    assert (item["label"], item["resourceId"]) == ("課題 1: 2 乗と平均", "t1_square")
    assert item["scoreMaximum"] > 0
    # linking again, and linking another such activity to the same assignment, finds it
    assert instructor_links(platform, "link-b1", "t1_square").status_code == 200
    assert instructor_links(platform, "link-b2", "t1_square").status_code == 200
    assert list(platform.lineitems) == ["created-1"]
    assert [g["ags"]["lineitem"] for g in links.graded_links(course, "t1_square")] == [
        item["id"], item["id"]]
    # another assignment gets a column of its own
    assert instructor_links(platform, "link-b2", "t2_train").status_code == 200
    assert [i["resourceId"] for i in platform.lineitems.values()] == ["t1_square", "t2_train"]


def check_feedback_from_the_lms(course, platform, server, chromium, tmp_path):
    """Once returned, a student's launch links to their own feedback pages, and only those,
    each with MathJax inlined (the page alone in the LMS's frame; on disk it loads the
    feedback folder's shared copy)."""
    pages = {sid: course.feedback_dir(sid, "t1_square") / "square.html"
             for sid in ("s2026001", "s2026002")}
    own = {sid: self_contained_page(p) for sid, p in pages.items()}   # the page as served
    assert own["s2026001"] != own["s2026002"]
    js = mathjax_js()
    for sid, path in pages.items():
        assert js not in path.read_text("utf-8") and f"<script>{js}</script>" in own[sid].decode()
    base = server.url + "/lti/feedback/"
    for hint, sid in (("hint-alice", "s2026001"), ("hint-bob", "s2026002")):
        browser, shown = feedback_links(platform, hint)
        assert shown == [base + "square.html"]
        got = browser.get(shown[0], timeout=30)
        assert got.status_code == 200 and got.content == own[sid]
        assert got.headers["Content-Type"].startswith("text/html")
        assert "採点結果" in browser_launch(browser, platform, hint, "link-a1").text
    # the served page alone in an empty folder, offline: its MathJax runs
    alone = tmp_path / "served"
    alone.mkdir()
    (alone / "square.html").write_bytes(got.content)
    chromium.get((alone / "square.html").as_uri())
    wait_until(lambda: chromium.execute_script(
        "return !!(window.MathJax && MathJax.startup && MathJax.startup.document"
        " && typeof MathJax.typesetPromise === 'function')"), "MathJax in the served page")
    assert "採点結果の概要" in chromium.find_element("tag name", "body").text
    # bob asks for alice's page every way he can: he gets his own page or nothing
    for attack in ("square.html?student=s2026001", "..%2Fs2026001%2Ft1_square%2Fsquare.html",
                   "%2E%2E%2F%2E%2E%2Fs2026001%2Ft1_square%2Fsquare.html",
                   "..%2F..%2F..%2Fcourse_config.py", "..", "s2026001"):
        got = browser.get(base + attack, timeout=30)
        assert got.status_code in (404, 403) or got.content == own["s2026002"], \
            (attack, got.status_code)
        assert own["s2026001"] not in got.content
        assert pages["s2026001"].read_bytes() not in got.content
    # the student id "../s2026001" from the LMS gets no page; an instructor, no one, neither
    mallory, shown = feedback_links(platform, "hint-mallory")
    assert shown == [] and mallory.get(base + "square.html", timeout=30).status_code == 404
    teacher = requests.Session()
    browser_launch(teacher, platform, "hint-teacher", "link-a1")
    resp = teacher.get(base + "square.html", timeout=30)
    assert resp.status_code == 403 and "only a student's launch" in text(resp)
    assert requests.get(base + "square.html", timeout=30).status_code == 403


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_export_says_to_start_the_tool_when_its_jwks_is_not_served(tmp_path, platform, capsys):
    port = free_port()
    course = configured_copy(TOY, tmp_path / "course", platform.settings()
                             + f"\nLTI_TOOL_URL = 'http://127.0.0.1:{port}'")
    lti_api.keys(course)
    server = lti_api.server(course, port=port).start()
    platform.register_tool(*server.urls().values())
    assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
    server.stop()
    # nothing serves the tool's JWKS: a clear error before any request to the LMS
    with pytest.raises(api.ExportError, match=rf"JWKS URL http://127.0.0.1:{port}/lti/jwks does "
                       r"not answer .*`nncourse lti serve` must be running.*no grade was posted"):
        lti_api.export(course, "t1_square")
    capsys.readouterr()
    assert cli_main(["--course-dir", str(course.root), "export", "t1_square",
                     "--format", "lti"]) == 2
    assert "start it" in capsys.readouterr().err
    assert platform.issued_tokens == [] and platform.score_posts == 0
    # a server started before the key was rotated serves the old key: said so
    server = lti_api.server(course, port=port).start()
    try:
        lti_api.keys(course, rotate=True)
        with pytest.raises(api.ExportError, match="serves another key than this course's"):
            lti_api.export(course, "t1_square")
        assert platform.issued_tokens == []
    finally:
        server.stop()
    # the tool serving its key: the LMS gives the token (nothing graded yet: nothing posted)
    server = lti_api.server(course, port=port).start()
    try:
        sent = lti_api.export(course, "t1_square")
        assert sent.problems == [] and len(platform.issued_tokens) == 1
    finally:
        server.stop()


def test_export_without_a_tool_url_says_why_the_token_was_refused(lti):
    course, server, platform = lti
    assert instructor_links(platform, "link-a1", "t1_square").status_code == 200
    server.stop()
    with pytest.raises(api.ExportError, match=r"the LMS refused the tool's access token request "
                       r"\(HTTP 500 from http://127.0.0.1:\d+/token\): the LMS checks "
                       r".*`nncourse lti serve` must be running"):
        lti_api.export(course, "t1_square")
    assert platform.issued_tokens == [] and platform.score_posts == 0
