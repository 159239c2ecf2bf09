"""The optional web UI of `flowrun server` (Starlette on uvicorn, Jinja2 pages); imported only by that command."""
