"""The coding agent: a workspace per issue, confined tools, a test-first tool-use loop, budgets."""
