"""A real LTI 1.3 platform on 127.0.0.1 for the tests: the PyPI package ``lti1p3platform``
(0.1.8) hosted in a small Flask app.  The library does the platform's work (its registration,
OIDC login initiation, the launch message and its claims, signing the id_token with the
platform's key, validating the tool's preflight response, its JWKS); the app only puts its
entry points on URLs: ``/auth`` (OIDC authentication), ``/jwks``, ``/token``.

The tests play the browser with ``requests``: ``Platform.login_url(user, link)`` is where the
LMS would send the browser; ``browser_launch`` follows the redirects and posts the launch form
the platform renders, as a browser's script would."""
from __future__ import annotations

import html
import json
import re
import threading
import typing as t

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, Response, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.membership import Context
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request as PlatformRequest
from lti1p3platform.score import UpdateScoreStatus
from lti1p3platform.service_connector import (AssignmentsGradesService,
                                              NamesRoleProvisioningService)
from werkzeug.serving import make_server

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
CLIENT_ID = "nncourse-client"
DEPLOYMENT_ID = "deployment-1"
CONTEXT_ID = "course-ml-2026"


def rsa_pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


class PlatformConf(LTI1P3PlatformConfAbstract):
    def init_platform_config(self, registration: Registration) -> None:
        self._registration = registration

    def get_registration_by_params(self, **kwargs: t.Any) -> Registration:
        return self._registration


class Login(OIDCLoginAbstract):
    def set_lti_message_hint(self, **kwargs: t.Any) -> None:
        self._lti_message_hint = kwargs["resource_link_id"]

    def get_redirect(self, url: str) -> str:
        return url


class Launch(LTIAdvantageMessageLaunchAbstract):
    """The platform's answer to the tool's OIDC authentication request."""
    users: dict = {}
    memberships_url = ""
    lineitems_url = ""
    no_lineitem: set = set()        # activities whose launch offers the line items URL only

    def get_preflight_response(self) -> dict:
        return request.args.to_dict()

    def prepare_launch(self, preflight_response: dict) -> None:
        user = self.users[preflight_response["login_hint"]]
        self.set_user_data(user["id"], user["roles"], full_name=user["name"],
                           email_address=user.get("email"))
        link = preflight_response.get("lti_message_hint", "")
        self.set_resource_link_claim(link, title=f"activity {link}")
        self.set_launch_context_claim(CONTEXT_ID, context_title="Learning from data")
        if self.memberships_url:
            self.set_nrps(self.memberships_url)
        if self.lineitems_url:               # one gradebook column per activity, or none
            self.set_ags(self.lineitems_url, None if link in self.no_lineitem
                         else f"{self.lineitems_url}/{link}")
        if user.get("student_id") and user.get("lis_in_launch", True):   # Moodle: ID number
            self.set_extra_claims({"https://purl.imsglobal.org/spec/lti/claim/lis":
                                   {"person_sourcedid": user["student_id"]}})

    def render_launch_form(self, launch_data: dict, **kwargs: t.Any) -> str:
        e = html.escape
        return (f'<form method="POST" action="{e(launch_data["launch_url"])}" id="form">'
                f'<input type="hidden" name="id_token" value="{e(launch_data["id_token"])}"/>'
                f'<input type="hidden" name="state" value="{e(launch_data["state"])}"/></form>')


class FlaskPlatformRequest(PlatformRequest):
    """The library's request record of a Flask request."""

    def build_metadata(self, req):
        return {"method": req.method, "form_data": req.form.to_dict(),
                "get_data": req.args.to_dict(), "headers": req.headers,
                "content_type": req.content_type, "path": req.path, "json": None}


class Memberships(NamesRoleProvisioningService):
    """The library's NRPS (it checks the tool's access token and its scope); the members are
    the platform's users."""
    members: list = []

    def get_member_data_page(self, **kwargs: t.Any) -> dict:
        return {"content": [dict(m) for m in self.members], "has_next": False, "next": None}

    def get_context_by_id(self) -> Context:
        return Context(id=CONTEXT_ID, label="ML", title="Learning from data")

    def is_resource_link_valid(self, context_id: str, resource_link_id: str) -> bool:
        return context_id == CONTEXT_ID


class Gradebook(AssignmentsGradesService):
    """The library's AGS (it checks the tool's access token and its scopes); the platform's
    gradebook: line item id -> {user id: the latest score}."""

    def __init__(self, req, conf, platform: "Platform", line_item_id: str = ""):
        super().__init__(req, conf, platform.url + "/lineitems",
                         f"{platform.url}/lineitems/{line_item_id}" if line_item_id else None)
        self.platform = platform

    def find_lineitems(self, **kwargs: t.Any) -> dict:
        ids = sorted(set(self.platform.scores) | set(self.platform.lineitems))
        return {"content": [self.find_lineitem(i) for i in ids], "has_next": False,
                "next": None}

    def find_lineitem(self, line_item_id: str) -> dict:
        if line_item_id in self.platform.lineitems:      # made by a tool
            return dict(self.platform.lineitems[line_item_id])
        return {"id": f"{self.platform.url}/lineitems/{line_item_id}", "scoreMaximum": 100,
                "label": f"activity {line_item_id}", "resourceLinkId": line_item_id}

    def create_lineitem(self, creation_data):
        item_id = f"created-{len(self.platform.lineitems) + 1}"
        item = {**creation_data, "id": f"{self.platform.url}/lineitems/{item_id}"}
        self.platform.lineitems[item_id] = item
        return item

    def update_lineitem(self, update_data):
        raise NotImplementedError

    def delete_lineitem(self, line_item_id):
        raise NotImplementedError

    def update_score(self, line_item_id: str, score: dict) -> UpdateScoreStatus:
        if self.platform.refuse_scores:            # a gradebook that is down for a while
            self.platform.refuse_scores -= 1
            return UpdateScoreStatus.NOTAPPLIED
        column = self.platform.scores.setdefault(line_item_id, {})
        old = column.get(score["userId"])
        if old and old["timestamp"] > score["timestamp"]:
            return UpdateScoreStatus.OLD_TIMESTAMP
        column[score["userId"]] = score
        self.platform.score_posts += 1
        return UpdateScoreStatus.SUCCESS

    def get_results(self, line_item_id: str, **kwargs: t.Any) -> dict:
        return {"content": list(self.platform.scores.get(line_item_id, {}).values()),
                "has_next": False, "next": None}


class Platform:
    """lti1p3platform on 127.0.0.1:<free port>; ``register_tool`` once the tool's URLs are
    known.  ``users``: login hint -> {"id", "name", "roles", "email", "student_id"}."""

    def __init__(self) -> None:
        self.private_pem, self.public_pem = rsa_pem_pair()
        self.registration = Registration()
        self.users: dict = {}
        app = Flask("lti1p3platform-host")
        app.add_url_rule("/auth", view_func=self._auth)
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/nrps", view_func=self._nrps)
        app.add_url_rule("/lineitems/<item>/scores", view_func=self._scores, methods=["POST"])
        app.add_url_rule("/lineitems", view_func=self._lineitems, methods=["GET", "POST"])
        self.scores: dict = {}       # line item id -> {user id: score}
        self.lineitems: dict = {}    # line item id -> line item, for those a tool created
        self.no_lineitem: set = set()   # activities launched without a line item of their own
        self.score_posts = 0
        self.refuse_scores = 0       # the next N score posts are refused (403)
        self.nrps = True            # launches carry the NRPS claim
        self.issued_tokens: list[str] = []   # access tokens given to the tool
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.issuer = self.url
        (self.registration.set_iss(self.issuer).set_client_id(CLIENT_ID)
         .set_deployment_id(DEPLOYMENT_ID).set_platform_private_key(self.private_pem)
         .set_platform_public_key(self.public_pem))
        self.conf = PlatformConf(registration=self.registration)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def settings(self) -> str:
        """The lines of course_config.py an instructor copies from the platform."""
        return "\n".join([f"LTI_ISSUER = {self.issuer!r}", f"LTI_CLIENT_ID = {CLIENT_ID!r}",
                          f"LTI_DEPLOYMENT_IDS = [{DEPLOYMENT_ID!r}]",
                          f"LTI_AUTH_LOGIN_URL = {self.url + '/auth'!r}",
                          f"LTI_AUTH_TOKEN_URL = {self.url + '/token'!r}",
                          f"LTI_KEY_SET_URL = {self.url + '/jwks'!r}"])

    def register_tool(self, login_url: str, launch_url: str, jwks_url: str) -> None:
        (self.registration.set_oidc_login_url(login_url).set_launch_url(launch_url)
         .set_tool_key_set_url(jwks_url))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- the platform's entry points (the library's work) ---------------------------------
    def _auth(self):
        launch = Launch(None, self.conf)
        launch.users = self.users
        launch.memberships_url = self.url + "/nrps" if self.nrps else ""
        launch.lineitems_url = self.url + "/lineitems"
        launch.no_lineitem = self.no_lineitem
        return launch.lti_launch()

    def members(self) -> list[dict]:
        """The course's members as NRPS gives them to a tool."""
        return [{"user_id": u["id"], "roles": u["roles"], "name": u["name"],
                 "status": "Active", **({"email": u["email"]} if u.get("email") else {}),
                 **({"lis_person_sourcedid": u["student_id"]} if u.get("student_id") else {})}
                for u in self.users.values()]

    def _scores(self, item):
        req = FlaskPlatformRequest(request)
        req.request["json"] = request.get_json(force=True)
        service = Gradebook(req, self.conf, self, item)
        resp = service.handle_resp(service.handle_update_score, line_item_id=item)
        return Response(json.dumps({"status": resp.message}), status=resp.code,
                        content_type="application/json")

    def _lineitems(self):
        req = FlaskPlatformRequest(request)
        if request.method == "POST":
            req.request["json"] = request.get_json(force=True)
        service = Gradebook(req, self.conf, self)
        resp = service.handle_resp(service.handle_create_lineitem if request.method == "POST"
                                   else service.handle_get_lineitems)
        if resp.code >= 300:
            body = {"error": resp.message}
        else:        # the line item container is a JSON array (one page here)
            body = resp.result["content"] if request.method == "GET" else resp.result
        return Response(json.dumps(body), status=resp.code, content_type=resp.media_type)

    def _nrps(self):
        service = Memberships(FlaskPlatformRequest(request), self.conf, self.url + "/nrps")
        service.members = self.members()
        resp = service.handle_resp(service.handle_get_members)
        return Response(json.dumps(resp.result if resp.code == 200 else
                                   {"error": resp.message}), status=resp.code,
                        content_type=resp.media_type)

    def _jwks(self):
        return self.conf.get_jwks()

    def _token(self):
        answer = self.conf.get_access_token(request.form.to_dict())
        self.issued_tokens.append(answer["access_token"])
        return answer

    # --- what the LMS and the browser do --------------------------------------------------
    def login_url(self, login_hint: str, resource_link_id: str) -> str:
        """Where the platform sends a user's browser to launch the tool (the tool's login
        initiation URL with iss, login_hint, lti_message_hint, client_id, deployment id)."""
        login = Login(None, self.conf)
        login.set_lti_message_hint(resource_link_id=resource_link_id)
        return login.initiate_login(login_hint)


FORM = re.compile(r'action="([^"]+)".*name="id_token" value="([^"]+)".*name="state" '
                  r'value="([^"]+)"', re.S)


def launch_form(browser: requests.Session, platform: Platform, login_hint: str,
                link: str) -> tuple[str, dict]:
    """Run the OIDC login through the tool up to the platform's auto-submitting form:
    (the form's action, its fields)."""
    resp = browser.get(platform.login_url(login_hint, link), timeout=30)
    resp.raise_for_status()
    m = FORM.search(resp.text)
    assert m, f"no launch form from the platform: {resp.status_code} {resp.text[:500]}"
    action, id_token, state = (html.unescape(g) for g in m.groups())
    return action, {"id_token": id_token, "state": state}


def browser_launch(browser: requests.Session, platform: Platform, login_hint: str,
                   link: str) -> requests.Response:
    """A whole launch as a browser does it: login initiation, OIDC authentication, form post."""
    action, fields = launch_form(browser, platform, login_hint, link)
    return browser.post(action, data=fields, timeout=30)
