"""Autograder: exercise checks and the grading pipeline (`lossgrade`)."""
