"""Git for flowrun: the real `git` binary driven through GitPython, tree syncs and pushes of a project's files."""
