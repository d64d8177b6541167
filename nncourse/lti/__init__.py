"""nncourse as an LTI 1.3 tool (``pylti1p3`` over Flask): the tool's key pair (``keys.py``),
the platform's values read from course_config.py (``config.py``) and the web app with OIDC
login initiation, launch and JWKS (``app.py``).  README "LTI 1.3" says what
works and what was tested against which platform."""
