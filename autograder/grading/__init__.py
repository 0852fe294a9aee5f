"""The instructor's grading service: ``lossgrade`` and what it runs.

``build`` makes the release and the solutions; ``collect`` takes submissions from the exchange
or an LMS zip; ``grader`` grades one submission, running the student's code in a ``sandbox``
(the ``worker`` process, spoken to in the ``wire`` format) and the instructor's tests beside it.
Student notebooks never import this package.
"""
