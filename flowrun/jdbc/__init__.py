"""Shared plumbing of the SQL tasks: JDBC URLs, statement splitting, cell conversion, result fetching, errors."""
