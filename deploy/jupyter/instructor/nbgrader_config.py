"""The instructor's nbgrader (formgrader, create-assignment): the course in their home."""

import os

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.root = os.path.expanduser("~/course")
