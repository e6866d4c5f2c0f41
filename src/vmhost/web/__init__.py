"""Server-rendered web UI (Jinja2), served by the API app. To come."""
