"""`tamma bench`: resolve a set of tasks through the real flow, per agent backend and model, and
measure what happened: resolved (the hidden tests pass on the pull request), escalated, turns,
tokens, cost and wall time, as a table, JSON and an HTML page. See docs/bench.md.

    task_files   the task file format (SWE-bench's fields where they fit) and its loader
    matrix       backends x models, and the settings each cell's runs get
    prepare      a task's local platform at its base commit, and its issue
    hidden_tests the judge: FAIL_TO_PASS / PASS_TO_PASS on a commit, in the sandbox
    runner       cells in turn, tasks concurrently, each resolved and judged
    figures      a run's turns, tokens and cost from its events
    results      the report's data; report and page render it
    offline      the shipped tasks and their scripted sessions
"""
