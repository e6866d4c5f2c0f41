"""Server-rendered web UI (Jinja2 pages, plain CSS, a little vanilla JavaScript), served by the
API app: ``install(app)`` mounts it. The pages call the service layer only and show the numbers
of ``vmhost.service.views``, the functions the API and the CLI use."""

from .app import install

__all__ = ["install"]
