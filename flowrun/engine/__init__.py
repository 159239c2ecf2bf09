"""The executor: runs a flow's tasks, emits events, derives states."""
