"""Pydantic models of the flow document."""
