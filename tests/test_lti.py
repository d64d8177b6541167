"""The LTI 1.3 tool (nncourse/lti/) against a real LTI 1.3 platform on loopback: the PyPI
package lti1p3platform 0.1.8 (tests/lti_platform.py hosts it), with keys made here.  Real
OIDC login initiation, authentication and launch for an instructor and a student; a forged
id_token, a replayed one and a wrong deployment are refused with 4xx and a reason; no token
or key is in a response or a log line."""
import html
import logging
import re
import subprocess
from pathlib import Path

import jwt
import pytest
import requests

from nncourse import api
from nncourse.cli import main as cli_main
from nncourse.core.course import Course, CourseError

from conftest import configured_copy
from lti_platform import INSTRUCTOR, LEARNER, Platform, browser_launch, launch_form, rsa_pem_pair

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "tests" / "fixtures" / "toy_course"

USERS = {
    "hint-teacher": {"id": "lms-user-7", "name": "Sensei Tanaka", "roles": [INSTRUCTOR]},
    "hint-alice": {"id": "lms-user-42", "name": "Alice Sato", "roles": [LEARNER],
                   "email": "alice@example.ac.jp"},
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
    server = api.lti_server(course).start()
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
    assert "Sensei Tanaka (instructor) launched resource link link-a1" in text(teacher)

    student = browser_launch(requests.Session(), platform, "hint-alice", "link-a1")
    assert student.status_code == 200, student.text
    assert (body_attr(student, "role"), body_attr(student, "user")) == ("student", "lms-user-42")
    assert "Alice Sato さん" in text(student) and 'lang="ja"' in text(student)

    # a user who is neither instructor nor learner is refused after a valid launch
    guest = browser_launch(requests.Session(), platform, "hint-guest", "link-a1")
    assert guest.status_code == 403 and "neither instructor nor learner" in text(guest)
    # the platform fetched the tool's public key from the tool's JWKS URL: it is the pair's
    jwks = requests.get(server.urls()["public keyset (JWKS) URL"], timeout=10).json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA"] and "d" not in jwks["keys"][0]


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
    folder = api.lti_keys(course)
    assert folder == course.root / "lti_keys"
    assert (folder / "private.pem").stat().st_mode & 0o077 == 0
    with pytest.raises(CourseError, match="exists already.*--rotate"):
        api.lti_keys(course)
    old = (folder / "private.pem").read_text()
    api.lti_keys(course, rotate=True)
    assert (folder / "private.pem").read_text() != old
    assert [p.read_text() for p in folder.glob("private.*T*.pem")] == [old]
    # git ignores the whole folder (its own .gitignore), even in a repository without the rule
    subprocess.run(["git", "init", "-q", str(course.root)], check=True)
    status = subprocess.run(["git", "-C", str(course.root), "status", "--porcelain",
                             "--untracked-files=all"], capture_output=True, text=True,
                            check=True).stdout
    assert "lti_keys" not in status and "course_config.py" in status


def test_serve_says_which_platform_value_is_missing(tmp_path):
    course = configured_copy(TOY, tmp_path / "course", 'LTI_ISSUER = "https://lms.example"')
    api.lti_keys(course)
    with pytest.raises(CourseError, match="LTI_CLIENT_ID, LTI_AUTH_LOGIN_URL, "
                       "LTI_AUTH_TOKEN_URL, LTI_KEY_SET_URL, LTI_DEPLOYMENT_IDS"):
        api.lti_server(course)
