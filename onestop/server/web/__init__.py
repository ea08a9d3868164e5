"""The provincial web: citizen receipt page, province dashboard, their JSON API (issue 7).

``mount(app, db)`` is called by ``server.app.create_app``. See ``routes.py`` for the
endpoints, ``lookup.py`` for the receipt side, ``province.py`` for the dashboard's numbers,
``staff.py`` for accounts and sessions, ``headers.py``/``middleware.py``/``ratelimit.py`` for
the protections every response gets.
"""

from onestop.server.web.routes import WebContext, mount

__all__ = ["WebContext", "mount"]
