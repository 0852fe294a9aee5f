"""nbgrader configuration for the course (run nbgrader, or `lossgrade`, from this folder).

Environment variables:
    LOSSGRADE_EXCHANGE   exchange folder shared by instructor and students (default: ./exchange)
    LOSSGRADE_COURSE_ID  course id used in the exchange (default: loss-functions)
"""

import os
from pathlib import Path

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import ClearHiddenTests, GetGrades

from autograder.grading.lossgrade import HideHiddenTestSource

c = get_config()  # noqa: F821 - provided by traitlets when it loads this file

HERE = Path(__file__).resolve().parent

c.CourseDirectory.root = str(HERE)
c.CourseDirectory.course_id = os.environ.get("LOSSGRADE_COURSE_ID", "loss-functions")

# a course-local exchange, so nothing needs /srv/nbgrader
c.Exchange.root = os.environ.get("LOSSGRADE_EXCHANGE", str(HERE / "exchange"))

# a finite per-cell limit: a hanging cell is interrupted and the notebook goes on
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True

# nbgrader scores a test cell zero if anything reaches stderr; drop warnings first
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"Warning"

# feedback shows which tests failed and why, not the source of the hidden tests (neither in the
# cell nor quoted by a traceback)
c.GenerateFeedback.preprocessors = [
    GetGrades,
    CSSHTMLHeaderPreprocessor,
    HideHiddenTestSource,
    ClearHiddenTests,
]
