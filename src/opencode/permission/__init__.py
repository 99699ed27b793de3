"""Permissions: allow, ask or deny for each tool call, from config rules, and the ask flow.

- `rules.py`   rules from config (`permission`, `agent.NAME.permission`), defaults, precedence,
               `Ruleset.evaluate` -> `Verdict` naming the rule that decided
- `bash.py`    shell commands parsed with tree-sitter-bash into the simple commands they run,
               wrappers (`sudo`, `env`, `bash -c`, `xargs`, `find -exec`...) unwrapped; `check_bash`
- `service.py` `PermissionService`: external paths, deny as a tool error, asks published on the bus
               and answered once / always / reject, or a terminal prompt, or refused when no one
               can answer

Importing this package loads nothing: tree-sitter is imported on the first bash check.
"""
