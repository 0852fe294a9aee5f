"""Autograder: exercise checks (visible and hidden) and the grading pipeline (`lossgrade`).

Self-study, in any notebook::

    from autograder import check
    check("ps01.mse", mse)        # one line per sub-check

Graded nbgrader test cells call ``grade(exercise, fn, part=...)`` instead.
"""

from autograder.core import Fail, Report, check, exercises, grade, parts

__all__ = ["Fail", "Report", "check", "exercises", "grade", "parts"]
