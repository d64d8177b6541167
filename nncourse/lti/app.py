"""The LTI 1.3 tool's web app (Flask, pylti1p3): the URLs a platform administrator registers
(README "LTI 1.3"):

- ``/lti/login``  OIDC login initiation (the platform's third-party initiated login);
- ``/lti/launch`` the launch: pylti1p3 validates the id_token (state cookie, nonce used once,
  issuer, client id, platform signature by the platform's JWKS, deployment id, message);
  an instructor gets the form linking the LMS activity to an assignment, a student their
  assignment and the upload form;
- ``/lti/jwks``   the tool's public key set;
- ``/lti/link``, ``/lti/upload``, ``/lti/roster`` (the roster from NRPS): the forms' targets;
  ``/lti/release/<notebook>.ipynb``: the linked assignment's release, for its launched users;
  ``/lti/feedback/<page>.html``: a student's own feedback pages of the linked assignment
  (with MathJax inlined), once ``export --format lti`` has posted their grade
  (``passback.returned``).  Who posts is only what the validated
  launch says (its id is in the tool's signed session cookie, with a CSRF token the form must
  carry); nothing in the form names a user or a student id.

A student's id (学籍番号) is the launch's ``lis`` claim ``person_sourcedid`` (Moodle's ID
number, Canvas's SIS user id), else the one ``lti/roster.csv`` (from NRPS) gives their LMS
user id.  An upload is placed by ``lms/collecting.place_upload``, with
collect's rules and the tool's time of receipt as the submission time.

A refused request gets HTTP 4xx and a page saying why (student-facing line in Japanese, the
reason in English for the instructor); the log says the same, never a token or a key."""
from __future__ import annotations

import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import Flask, Response, render_template_string, request, send_file, session
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.exception import LtiException, OIDCException

from ..core.course import Course
from ..feedback.mathjax import self_contained_page
from ..lms.collecting import place_upload
from ..lms.deadlines import timezone_of
from ..lms.roster import STUDENT_ID
from . import keys as tool_keys
from . import links
from . import roster as nrps_roster
from .config import JWKS, LAUNCH, LOGIN, tool_conf
from .launches import LaunchStore, session_secret
from .passback import MAX_REASON_CHARS, line_item, returned

log = logging.getLogger("nncourse.lti")

LINK, UPLOAD, ROSTER, RELEASE = "/lti/link", "/lti/upload", "/lti/roster", "/lti/release"
FEEDBACK = "/lti/feedback"
CLAIM = "https://purl.imsglobal.org/spec/lti/claim/"
AGS = "https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"
FORM_SLACK = 2 ** 20       # a multipart body may exceed its file by this much

PAGE = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><title>nncourse</title></head>
<body data-role="{{ role }}" data-user="{{ user }}" data-assignment="{{ aid }}">
{% for line in lines %}<p>{{ line }}</p>
{% endfor %}{% if form == "link" %}<form method="post" action="{{ url }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>Assignment <select name="assignment">{% for a in choices %}
<option value="{{ a }}"{% if a == aid %} selected{% endif %}>{{ a }}</option>{% endfor %}
</select></label> <button type="submit">Link this activity</button></form>
{% if roster_url %}<form method="post" action="{{ roster_url }}">
<input type="hidden" name="csrf" value="{{ csrf }}">
<button type="submit">Save the course's roster from the LMS (NRPS)</button></form>{% endif %}
{% elif form == "upload" %}{% for name, href in feedback %}
<p><a href="{{ href }}">採点結果とフィードバック ({{ name }}) を見る</a></p>{% endfor %}{% for name, href in downloads %}
<p><a href="{{ href }}" download>配布ノートブック {{ name }} をダウンロード</a></p>{% endfor %}
<form method="post" action="{{ url }}" enctype="multipart/form-data">
<input type="hidden" name="csrf" value="{{ csrf }}">
<label>ノートブック (.ipynb) <input type="file" name="notebook" accept=".ipynb"></label>
<button type="submit">提出する</button></form>
{% endif %}</body></html>"""


@dataclass(frozen=True)
class Who:
    """The launched user as the validated id_token says."""
    user: str             # the platform's user id (sub)
    name: str
    role: str             # "instructor" or "student"
    student_id: str       # 学籍番号: lis person_sourcedid ("" when the platform sends none)
    link_key: str         # the LMS activity launched (links.key)
    link_title: str


def who(launch: FlaskMessageLaunch) -> Who | None:
    """The user of a validated launch; None when they are neither instructor nor student."""
    body = launch.get_launch_data()
    if launch.check_teacher_access():        # the course's Instructor or Administrator
        role = "instructor"
    elif nrps_roster.is_learner(body.get(CLAIM + "roles")):
        role = "student"                     # a learner of this course, not of the institution
    else:
        return None
    link = body.get(CLAIM + "resource_link") or {}
    key = links.key(str(body.get("iss", "")), str(body.get(CLAIM + "deployment_id", "")),
                    str((body.get(CLAIM + "context") or {}).get("id", "")),
                    str(link.get("id", "")))
    return Who(user=str(body.get("sub", "")), name=str(body.get("name", "")), role=role,
               student_id=str((body.get(CLAIM + "lis") or {}).get("person_sourcedid") or ""),
               link_key=key, link_title=str(link.get("title") or link.get("id", "")))


def page(status: int, lines: list[str], lang: str = "en", **fields):
    fields = {"role": "", "user": "", "aid": "", "form": "", **fields}
    return render_template_string(PAGE, lines=lines, lang=lang, **fields), status


def refused(what: str, reason: str, ja: str = "LMS から開き直してください（この起動は受け付けら"
            "れませんでした）。", status: int = 403):
    """HTTP 4xx with the reason; the log line has the reason only."""
    log.warning("LTI %s refused: %s", what, reason)
    return page(status, [ja, f"LTI {what} refused: {reason}"])


def create_app(course: Course, base_url: str) -> Flask:
    """The tool for ``course`` whose public URL is ``base_url`` (no trailing slash)."""
    pair = tool_keys.load(course)
    conf = tool_conf(course, pair)
    store = LaunchStore(course)
    tz = timezone_of(course)
    app = Flask("nncourse.lti")
    app.secret_key = session_secret(course)   # signs the session cookie; kept across restarts
    secure = base_url.startswith("https://")
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SECURE=secure,
                      # in the LMS's iframe the cookie is third-party: SameSite=None (HTTPS only)
                      SESSION_COOKIE_SAMESITE="None" if secure else "Lax",
                      MAX_CONTENT_LENGTH=int(course.setting("COLLECT_MAX_FILE_BYTES"))
                      + FORM_SLACK)

    def current_launch(form: bool = True) -> FlaskMessageLaunch | str:
        """This browser's launch (``form``: a form post, which must carry the CSRF token), or
        the reason there is none."""
        launch_id = session.get("launch_id")
        token = request.form.get("csrf", "")
        if not launch_id:
            return "no launch in this browser session (open the activity from the LMS)"
        if form and not hmac.compare_digest(token.encode("utf-8"),
                                            session.get("csrf", "").encode("utf-8")):
            return "the form's CSRF token does not match this browser session"
        try:
            return FlaskMessageLaunch.from_cache(launch_id, FlaskRequest(), conf,
                                                 launch_data_storage=store)
        except LtiException as exc:
            return str(exc)

    def current(form: bool = True) -> Who | None | str:
        """The user of this browser's launch, or the reason there is none."""
        message = current_launch(form)
        return message if isinstance(message, str) else who(message)

    def launched_page(user: Who, nrps: bool, note: list[str] = ()):
        aid = links.assignment(course, user.link_key)
        if user.role == "instructor":
            lines = [f"nncourse: {user.name or user.user} (instructor), activity "
                     f"{user.link_title!r}: "
                     + (f"linked to assignment {aid}." if aid else "not linked yet: choose "
                        "its assignment.")] + list(note)
            return page(200, lines, role=user.role, user=user.user, aid=aid or "",
                        form="link", url=base_url + LINK, csrf=session["csrf"],
                        choices=course.assignments, roster_url=nrps and base_url + ROSTER)
        if not aid:
            return page(200, [f"{user.name or user.user} さん、この課題はまだ準備中です"
                              "（教員が設定していません）。"], lang="ja", role=user.role,
                        user=user.user)
        return page(200, [f"{user.name or user.user} さん、課題 {aid} のノートブックを"
                          "提出してください。"], lang="ja", role=user.role, user=user.user,
                    aid=aid, form="upload", url=base_url + UPLOAD, csrf=session["csrf"],
                    downloads=[(name, f"{base_url}{RELEASE}/{name}")
                               for name in released(aid)],
                    feedback=[(name, f"{base_url}{FEEDBACK}/{name}")
                              for name in feedback_pages(student_of(user), aid)])

    def student_of(user: Who) -> str:
        """The student id (学籍番号) of a student's launch (see the module), or ""."""
        return user.student_id or nrps_roster.student_of(course, user.user)

    def feedback_pages(student: str, aid: str) -> list[str]:
        """The feedback pages of ``student`` for ``aid``, once their grade was returned."""
        if not STUDENT_ID.match(student) or student not in returned(course, aid):
            return []
        return sorted(p.name for p in course.feedback_dir(student, aid).glob("*.html")
                      if p.is_file())

    def released(aid: str) -> list[str]:
        """The notebook files of ``aid``'s release that exist (``nncourse build``)."""
        return [f"{nb}.ipynb" for nb in course.notebooks(aid)
                if (course.release_dir(aid) / f"{nb}.ipynb").is_file()]

    @app.route(LOGIN, methods=["GET", "POST"])
    def login():
        try:
            oidc = FlaskOIDCLogin(FlaskRequest(), conf, launch_data_storage=store)
            return oidc.redirect(base_url + LAUNCH)
        except Exception as exc:   # LtiException, OIDCException; plain Exception: unknown issuer
            return refused("login", str(exc) or type(exc).__name__)

    @app.route(LAUNCH, methods=["POST"])
    def launch():
        try:
            message = FlaskMessageLaunch(FlaskRequest(), conf, launch_data_storage=store)
            user = who(message)
        except (LtiException, OIDCException) as exc:
            return refused("launch", str(exc) or type(exc).__name__)
        if user is None:
            return refused("launch", "the user is neither instructor nor learner of this "
                           "course", ja="この課題は受講者と教員だけが開けます。")
        session.clear()
        session["launch_id"] = message.get_launch_id()
        session["csrf"] = secrets.token_urlsafe(32)
        log.info("LTI launch: %s as %s", user.user, user.role)
        return launched_page(user, message.has_nrps())

    @app.route(LINK, methods=["POST"])
    def link():
        user = current()
        if not isinstance(user, Who) or user.role != "instructor":
            return refused("link", user if isinstance(user, str) else
                           "only an instructor's launch may link an activity",
                           ja="この操作は教員だけができます。")
        aid = request.form.get("assignment", "")
        if aid not in course.assignments:
            return refused("link", f"{aid!r} is not an assignment of this course "
                           f"({', '.join(course.assignments)})", ja="課題が正しくありません。",
                           status=400)
        message = current_launch()
        ags = message.get_launch_data().get(AGS)
        ags = dict(ags) if isinstance(ags, dict) else None
        note = []
        if ags and not ags.get("lineitem") and ags.get("lineitems"):
            try:        # the activity has no gradebook column of its own: the assignment's
                ags["lineitem"] = line_item(message.get_ags(), course, aid)
                note.append(f"Grades of {aid} go to the LMS gradebook column {aid!r} "
                            f"({ags['lineitem']}).")
            except LtiException as exc:
                note.append(f"No gradebook column for {aid}: the platform answered: "
                            f"{str(exc)[:MAX_REASON_CHARS]} (link again to retry)")
                log.warning("LTI line item for %s not made: %s", aid, note[-1])
        links.link(course, user.link_key, aid, by=user.user, title=user.link_title, ags=ags)
        log.info("LTI link: activity %r -> %s by %s", user.link_title, aid, user.user)
        return launched_page(user, message.has_nrps(), note)

    @app.route(ROSTER, methods=["POST"])
    def roster():
        message = current_launch()
        user = message if isinstance(message, str) else who(message)
        if not isinstance(user, Who) or user.role != "instructor":
            return refused("roster", user if isinstance(user, str) else
                           "only an instructor's launch may read the roster",
                           ja="この操作は教員だけができます。")
        if not message.has_nrps():
            return refused("roster", "the platform offers no Names and Role Provisioning "
                           "Service in this launch (enable it in the tool's registration)",
                           ja="LMS の名簿サービスが使えません。", status=409)
        try:
            members = message.get_nrps().get_members()
        except LtiException as exc:
            return refused("roster", f"the platform's NRPS answered: {exc}", status=502,
                           ja="LMS から名簿を読めませんでした。")
        saved = nrps_roster.save_members(course, members)
        log.info("LTI roster: %d learners saved, %d skipped", len(saved.saved),
                 len(saved.skipped))
        note = [f"Roster saved: {len(saved.saved)} learners in "
                f"{saved.path.relative_to(course.root)}."]
        note += [f"Not in the roster: LMS user {u}: {why}" for u, why in saved.skipped]
        return launched_page(user, True, note)

    @app.route(UPLOAD, methods=["POST"])
    def upload():
        received = datetime.now(timezone.utc)       # the submission time: the tool's clock
        user = current()
        if not isinstance(user, Who) or user.role != "student":
            return refused("upload", user if isinstance(user, str) else
                           "only a student's launch may upload a notebook",
                           ja="提出は受講者として LMS から開いたときだけできます。")
        aid = links.assignment(course, user.link_key)
        if not aid:
            return refused("upload", "this activity is not linked to an assignment",
                           ja="この課題はまだ準備中です（教員が設定していません）。", status=409)
        student = student_of(user)
        if not student:
            return refused("upload", "the launch carries no student id (lis person_sourcedid: "
                           "Moodle's ID number, Canvas's SIS user id) and the user is not in "
                           "lti/roster.csv (save the roster from the instructor's page)",
                           ja="LMS から学籍番号が届きませんでした。教員に連絡してください。")
        file = request.files.get("notebook")
        if file is None or not file.filename:
            return refused("upload", "no file in the form", ja="ファイルを選んでください。",
                           status=400)
        ident = {"lms": "lti", "lti_user": user.user, "full_name": user.name}
        result = place_upload(course, aid, student, file.filename, file.read(), received,
                              ident)
        if result.unplaced:
            return refused("upload", "; ".join(why for _, why in result.unplaced),
                           ja="提出できませんでした。課題のノートブック (.ipynb) を選んで"
                           "もう一度提出してください。", status=422)
        local = received.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S %Z")
        log.info("LTI upload: %s %s at %s", student, aid, received.isoformat())
        return page(200, [f"提出を受け付けました（課題 {aid}、{local}）。"]
                    + ([f"読めないノートブックとして保存されました: {why}"
                        for _, why in result.unreadable]), lang="ja", role=user.role,
                    user=user.user, aid=aid)

    @app.route(RELEASE + "/<name>", methods=["GET"])
    def release(name):
        user = current(form=False)
        if not isinstance(user, Who):
            return refused("download", user if isinstance(user, str) else "not a course member",
                           ja="LMS から課題を開いてからダウンロードしてください。")
        aid = links.assignment(course, user.link_key)
        if not aid or name not in released(aid):      # only the release's own file names
            return refused("download", f"{name!r} is not a released notebook of this activity",
                           ja="この課題の配布ノートブックではありません。", status=404)
        return send_file(course.release_dir(aid) / name, as_attachment=True,
                         download_name=name, mimetype="application/x-ipynb+json")

    @app.route(FEEDBACK + "/<name>", methods=["GET"])
    def feedback(name):
        user = current(form=False)
        if not isinstance(user, Who) or user.role != "student":
            return refused("feedback", user if isinstance(user, str) else
                           "only a student's launch shows their feedback",
                           ja="LMS から課題を開いてからフィードバックを見てください。")
        aid = links.assignment(course, user.link_key)
        student = student_of(user)
        if not aid or name not in feedback_pages(student, aid):   # only their own pages' names
            return refused("feedback", f"{name!r} is not a returned feedback page of this "
                           "student for this activity", ja="このフィードバックはありません。",
                           status=404)
        # opened alone in the LMS's frame: the page with MathJax inlined
        return Response(self_contained_page(course.feedback_dir(student, aid) / name),
                        mimetype="text/html")

    @app.errorhandler(413)
    def too_large(_exc):
        return refused("upload", "the file is over COLLECT_MAX_FILE_BYTES",
                       ja="ファイルが大きすぎます。出力を消して保存し、もう一度提出してください。",
                       status=413)

    @app.route(JWKS, methods=["GET"])
    def jwks():
        return conf.get_jwks()

    return app
