"""Machinery behind the script tasks: processes, the stdout protocol, interpreters and cached virtualenvs."""
