"""Task types: the registry and one module per plugin family."""
