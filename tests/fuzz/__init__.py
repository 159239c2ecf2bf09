"""The fuzz suite: hypothesis-generated flows, templates and CLI argument lists, judged by the CLI contract."""
