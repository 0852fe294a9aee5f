"""Running the course for many users: the course hub (`make hub`, :mod:`deploy.hub`)."""
