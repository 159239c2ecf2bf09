"""Where files and values live between tasks: internal storage, namespace files and the KV store."""
