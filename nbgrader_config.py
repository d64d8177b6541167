import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # noqa: E401,E702
__import__("course_config").configure_nbgrader(get_config())  # noqa: F821
