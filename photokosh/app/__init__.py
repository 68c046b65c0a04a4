"""`photokosh review`: a local web app over OUT to fix the result where the faces are.

Every action calls the same core function as the CLI (people.py, corrections.py); the app
only reads the state (model.py) and shows it. server.py makes and serves the app, guard.py
is its security, views.py its pages and images, actions.py its POSTs. docs/review.md.
"""

from .server import Running, create_app, running

__all__ = ["Running", "create_app", "running"]
