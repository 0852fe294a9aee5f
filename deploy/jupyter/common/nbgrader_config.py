"""nbgrader on the course hub: one course id and one exchange for every account.

The hub gives every server either ``LOSSGRADE_EXCHANGE`` (a folder every account writes to) or
``LOSSGRADE_NGSHARE_URL`` (the ngshare service: ngshare-exchange's classes talk to its API, with
the server's hub token as the person's identity).
"""

import os

c = get_config()  # noqa: F821 - provided by traitlets

c.CourseDirectory.course_id = os.environ.get("LOSSGRADE_COURSE_ID", "loss-functions")
if os.environ.get("LOSSGRADE_NGSHARE_URL"):
    from ngshare_exchange import configureExchange

    configureExchange(c, os.environ["LOSSGRADE_NGSHARE_URL"])
else:
    c.Exchange.root = os.environ["LOSSGRADE_EXCHANGE"]
