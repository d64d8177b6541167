"""The platform registration the tool trusts, from course_config.py (the LTI_* settings of
``core/settings.py``) and the tool's key pair, as pylti1p3's ``ToolConfDict``."""
from __future__ import annotations

from pylti1p3.tool_config import ToolConfDict

from ..core.course import Course, CourseError
from .keys import KeyPair

# the tool's URLs under its base URL (LTI_TOOL_URL, else `lti serve`'s http://HOST:PORT)
LOGIN, LAUNCH, JWKS = "/lti/login", "/lti/launch", "/lti/jwks"
REQUIRED = ("LTI_ISSUER", "LTI_CLIENT_ID", "LTI_AUTH_LOGIN_URL", "LTI_AUTH_TOKEN_URL",
            "LTI_KEY_SET_URL")


def platform_settings(course: Course) -> dict:
    """The LTI_* settings; CourseError naming every one that is missing."""
    values = {name: course.setting(name) for name in REQUIRED}
    missing = [name for name, v in values.items() if not v]
    deployments = list(course.setting("LTI_DEPLOYMENT_IDS"))
    if not deployments:
        missing.append("LTI_DEPLOYMENT_IDS")
    if missing:
        raise CourseError("the LTI tool needs the platform's values in course_config.py: "
                          + ", ".join(missing) + " (copy them from the tool's registration on "
                          "the platform; README \"LTI 1.3\")")
    values["LTI_DEPLOYMENT_IDS"] = deployments
    values["LTI_AUTH_AUDIENCE"] = course.setting("LTI_AUTH_AUDIENCE") or None
    return values


def tool_conf(course: Course, keys: KeyPair) -> ToolConfDict:
    """pylti1p3's configuration: one issuer, one client id, its deployments, the platform's
    JWKS URL (its keys are fetched there, so a platform's key rotation is followed) and the
    tool's key pair."""
    s = platform_settings(course)
    iss = s["LTI_ISSUER"]
    conf = ToolConfDict({iss: [{
        "default": True,
        "client_id": s["LTI_CLIENT_ID"],
        "auth_login_url": s["LTI_AUTH_LOGIN_URL"],
        "auth_token_url": s["LTI_AUTH_TOKEN_URL"],
        "auth_audience": s["LTI_AUTH_AUDIENCE"],
        "key_set_url": s["LTI_KEY_SET_URL"],
        "key_set": None,
        "deployment_ids": s["LTI_DEPLOYMENT_IDS"],
    }]})
    conf.set_private_key(iss, keys.private_pem, client_id=s["LTI_CLIENT_ID"])
    conf.set_public_key(iss, keys.public_pem, client_id=s["LTI_CLIENT_ID"])
    return conf
