"""Server-rendered pages (jinja2 templates in ``web/templates``)."""
