"""flowrun's own state behind the `StateStore` protocol (protocol.py), implemented on SQLite by `db.Database`."""
