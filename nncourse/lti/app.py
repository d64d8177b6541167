"""The LTI 1.3 tool's web app (Flask, pylti1p3): the URLs a platform administrator registers
(README "LTI 1.3"):

- ``/lti/login``  OIDC login initiation (the platform's third-party initiated login);
- ``/lti/launch`` the launch: pylti1p3 validates the id_token (state cookie, nonce used once,
  issuer, client id, platform signature by the platform's JWKS, deployment id, message);
  the page says who was launched as what;
- ``/lti/jwks``   the tool's public key set.

A refused request gets HTTP 4xx and a page saying why (student-facing line in Japanese, the
reason in English for the instructor); the log says the same, never a token or a key."""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from flask import Flask, render_template_string, session
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException

from ..core.course import Course
from . import keys as tool_keys
from .config import tool_conf
from .launches import LaunchStore

log = logging.getLogger("nncourse.lti")

LOGIN, LAUNCH, JWKS = "/lti/login", "/lti/launch", "/lti/jwks"

PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>nncourse</title></head>
<body data-role="{{ role }}" data-user="{{ user }}">
{% for line in lines %}<p>{{ line }}</p>
{% endfor %}</body></html>"""


@dataclass(frozen=True)
class Who:
    """The launched user as the validated id_token says."""
    user: str             # the platform's user id (sub)
    name: str
    role: str             # "instructor" or "student"
    context: str          # the course on the platform
    resource_link: str    # the LMS activity launched


def who(launch: FlaskMessageLaunch) -> Who | None:
    """The user of a validated launch; None when they are neither instructor nor student."""
    body = launch.get_launch_data()
    if launch.check_teacher_access():
        role = "instructor"
    elif launch.check_student_access():
        role = "student"
    else:
        return None
    claim = "https://purl.imsglobal.org/spec/lti/claim/"
    return Who(user=str(body.get("sub", "")), name=str(body.get("name", "")), role=role,
               context=str((body.get(claim + "context") or {}).get("id", "")),
               resource_link=str((body.get(claim + "resource_link") or {}).get("id", "")))


def page(status: int, lines: list[str], role: str = "", user: str = "", lang: str = "en"):
    return render_template_string(PAGE, lines=lines, role=role, user=user, lang=lang), status


def refused(what: str, exc: Exception):
    """HTTP 403 with the reason; the log line has the reason only."""
    reason = str(exc) or type(exc).__name__
    log.warning("LTI %s refused: %s", what, reason)
    return page(403, ["LMS から開き直してください（この起動は受け付けられませんでした）。",
                      f"LTI {what} refused: {reason}"])


def create_app(course: Course, base_url: str) -> Flask:
    """The tool for ``course`` whose public URL is ``base_url`` (no trailing slash)."""
    pair = tool_keys.load(course)
    conf = tool_conf(course, pair)
    store = LaunchStore()
    app = Flask("nncourse.lti")
    app.secret_key = os.urandom(32)      # signs the session cookie; a restart ends sessions
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="None",
                      SESSION_COOKIE_SECURE=base_url.startswith("https://"))
    if not base_url.startswith("https://"):
        app.config["SESSION_COOKIE_SAMESITE"] = "Lax"   # browsers refuse SameSite=None over http

    @app.route(LOGIN, methods=["GET", "POST"])
    def login():
        try:
            oidc = FlaskOIDCLogin(FlaskRequest(), conf, launch_data_storage=store)
            return oidc.redirect(base_url + LAUNCH)
        except Exception as exc:   # LtiException, OIDCException; plain Exception: unknown issuer
            return refused("login", exc)

    @app.route(LAUNCH, methods=["POST"])
    def launch():
        try:
            message = FlaskMessageLaunch(FlaskRequest(), conf, launch_data_storage=store)
            user = who(message)
        except (LtiException, OIDCException) as exc:
            return refused("launch", exc)
        if user is None:
            log.warning("LTI launch refused: a user who is neither instructor nor student")
            return page(403, ["この課題は受講者と教員だけが開けます。",
                              "LTI launch refused: the user is neither instructor nor learner "
                              "of this course"])
        session["launch_id"] = message.get_launch_id()
        log.info("LTI launch: %s as %s, resource link %s", user.user, user.role,
                 user.resource_link)
        if user.role == "instructor":
            return page(200, [f"nncourse: {user.name or user.user} (instructor) launched "
                              f"resource link {user.resource_link} of course {user.context}."],
                        role=user.role, user=user.user)
        return page(200, [f"{user.name or user.user} さん、nncourse の課題ページです。"],
                    role=user.role, user=user.user, lang="ja")

    @app.route(JWKS, methods=["GET"])
    def jwks():
        return conf.get_jwks()

    return app
