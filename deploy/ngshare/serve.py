"""Start ngshare as the course hub's managed service, listening on 127.0.0.1 only.

ngshare 0.6.0 always listens on every interface (``0.0.0.0``) at the port of
``JUPYTERHUB_SERVICE_URL``; the course hub keeps everything on the service URL's own host.
Arguments are ngshare's own (``--admins``, ``--database``, ``--storage``...). Run by the Python
of ngshare's environment, as ngshare's own account (``hub.py down`` stops its processes).
"""

import os
import sys
from urllib.parse import urlparse

import ngshare.ngshare as ngshare
from tornado.httpserver import HTTPServer


class LocalHTTPServer(HTTPServer):
    def listen(self, port, address=None, **kwargs):
        host = urlparse(os.environ["JUPYTERHUB_SERVICE_URL"]).hostname or "127.0.0.1"
        super().listen(port, host, **kwargs)


if __name__ == "__main__":
    ngshare.HTTPServer = LocalHTTPServer
    ngshare.main(sys.argv[1:])
