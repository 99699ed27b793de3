"""The tool registry: which tools exist, what the model is told about them, and calling them.

`execute` is the single wrapper around every tool call. It turns whatever can go wrong before or
inside a tool into a `ToolError` whose message the model can act on: a tool that does not exist,
arguments that were not JSON, arguments that do not fit the schema (each bad field named), and
any unexpected exception (logged with its traceback, never a crash). `Aborted` passes through,
so the loop can stop. Output is capped here with `truncate`, except for tools that page their
own output (`Tool.caps_output`).

Errors raised from here:

    ToolError   the model reads the message as the tool's result
    Aborted     the run was cancelled; not a tool failure
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from opencode.provider.types import ToolSpec
from opencode.tool.tool import Aborted, Tool, ToolContext, ToolError, ToolResult
from opencode.tool.truncate import default_save_dir, truncate

log = logging.getLogger(__name__)

_EXPECTED = {
    "missing": "required",
    "int_type": "expected an integer",
    "int_parsing": "expected an integer",
    "int_from_float": "expected an integer",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "string_type": "expected a string",
    "bool_type": "expected a boolean",
    "bool_parsing": "expected a boolean",
    "list_type": "expected an array",
    "dict_type": "expected an object",
    "model_type": "expected an object",
    "extra_forbidden": "not a parameter of this tool",
}


BUILTIN: dict[str, str] = {
    "read": "opencode.tool.read:ReadTool",
    "write": "opencode.tool.write:WriteTool",
    "edit": "opencode.tool.edit:EditTool",
    "multiedit": "opencode.tool.multiedit:MultiEditTool",
    "apply_patch": "opencode.tool.apply_patch:ApplyPatchTool",
    "bash": "opencode.tool.bash:BashTool",
    "glob": "opencode.tool.glob:GlobTool",
    "grep": "opencode.tool.grep:GrepTool",
    "list": "opencode.tool.ls:ListTool",
    "rm": "opencode.tool.rm:RmTool",
    "explore": "opencode.tool.explore:ExploreTool",
    "skill": "opencode.tool.skill:SkillTool",
    "task": "opencode.tool.task:TaskTool",
    "todowrite": "opencode.tool.todo:TodoWriteTool",
    "todoread": "opencode.tool.todo:TodoReadTool",
    "question": "opencode.tool.question:QuestionTool",
    "plan_enter": "opencode.tool.plan:PlanEnterTool",
    "plan_exit": "opencode.tool.plan:PlanExitTool",
    "batch": "opencode.tool.batch:BatchTool",
    "webfetch": "opencode.tool.webfetch:WebFetchTool",
    "websearch": "opencode.tool.websearch:WebSearchTool",
    "youtube": "opencode.tool.youtube:YouTubeTool",
    "lsp": "opencode.tool.lsp:LspTool",
}
"""The built-in tools in the order the model is shown them: name -> "module:class", imported on first use."""


class ToolRegistry:
    def __init__(self, tools: Iterable[Tool[Any]] = ()) -> None:
        self._tools: dict[str, Tool[Any] | None] = {}
        """None: a built-in not imported yet (`BUILTIN` says where it is)."""
        self._specs: dict[str, tuple[str, dict[str, Any]]] = {}
        self._cached_builtins = False
        for tool in tools:
            self.add(tool)

    @classmethod
    def builtin(cls) -> ToolRegistry:
        """The built-in tools; each module is imported when the tool is first called, and what the
        model is told about them comes from `spec_cache` while nothing they are made of changed."""
        registry = cls()
        registry._tools = dict.fromkeys(BUILTIN)
        registry._cached_builtins = True
        return registry

    def add(self, tool: Tool[Any]) -> None:
        """Register `tool`, replacing any tool of the same name (a plugin may override a built-in)."""
        self._tools[tool.name] = tool
        self._specs.pop(tool.name, None)

    def get(self, name: str) -> Tool[Any] | None:
        tool = self._tools.get(name)
        if tool is None and name in self._tools:
            from importlib import import_module

            module, _, attr = BUILTIN[name].partition(":")
            tool = self._tools[name] = getattr(import_module(module), attr)()
        return tool

    def has(self, name: str) -> bool:
        return name in self._tools

    def names(self) -> list[str]:
        return list(self._tools)

    def specs(self, allowed: Callable[[str], bool] | None = None) -> list[ToolSpec]:
        """What the model is told about each tool (those `allowed` accepts, or all).

        Descriptions and schemas are built once per tool (they are asked for at every step);
        each call returns new ToolSpec values, so a caller may change a description freely.
        The schema dicts are shared: treat them as read-only."""
        if self._cached_builtins:
            self._load_builtin_specs()
        specs = []
        for name in self._tools:
            if allowed is not None and not allowed(name):
                continue
            cached = self._specs.get(name)
            if cached is None:
                cached = self._specs[name] = self._build_spec(name)
            specs.append(ToolSpec(name=name, description=cached[0], parameters=cached[1]))
        return specs

    def _build_spec(self, name: str) -> tuple[str, dict[str, Any]]:
        tool = self.get(name)
        assert tool is not None
        return tool.description, tool.schema()

    def _load_builtin_specs(self) -> None:
        """Fill in the built-ins' specs from the disk cache, or build them all and save them."""
        from opencode.tool import spec_cache

        self._cached_builtins = False
        builtins = [name for name in BUILTIN if self._tools.get(name, False) is None]  # not replaced by a plugin
        key = spec_cache.fingerprint()
        saved = spec_cache.load(key)
        if saved is not None and all(name in saved for name in builtins):
            for name in builtins:
                self._specs.setdefault(name, saved[name])
            return
        built = {name: self._specs.get(name) or self._build_spec(name) for name in builtins}
        for name, spec in built.items():
            self._specs.setdefault(name, spec)
        if len(built) == len(BUILTIN):  # with a built-in replaced, the cache would not say what ours are
            spec_cache.save(key, built)

    async def execute(
        self, name: str, arguments: dict[str, Any] | None, ctx: ToolContext, *, parse_error: str | None = None
    ) -> ToolResult:
        """Validate the arguments, run the tool, cap its output; see the module docstring for errors."""
        tool = self.get(name)
        if tool is None:
            raise ToolError(f"unknown tool '{name}'; available: {', '.join(self.names())}")
        if parse_error is not None:
            raise ToolError(
                f"the arguments of tool '{name}' were not valid JSON: {parse_error}. "
                "Send a JSON object matching its schema."
            )
        received: object = arguments  # providers hand over whatever the model sent
        if received is not None and not isinstance(received, dict):
            raise ToolError(
                f"invalid arguments for tool '{name}': expected a JSON object, got {type(received).__name__}"
            )
        # Models often send null for an optional parameter they mean to leave out.
        given = {key: value for key, value in (arguments or {}).items() if value is not None}
        try:
            params = tool.params.model_validate(given)
        except ValidationError as exc:
            raise ToolError(f"invalid arguments for tool '{name}': {describe(exc)}")

        ctx.check_abort()
        try:
            result = await tool.run(params, ctx)
        except (ToolError, Aborted):
            raise
        except Exception as exc:
            log.exception("tool %r failed (call %s)", name, ctx.call_id)
            raise ToolError(f"tool '{name}' failed: {type(exc).__name__}: {exc}")

        if not tool.caps_output:
            capped = truncate(result.output, save_dir=default_save_dir(ctx.data_dir))
            if capped.truncated:
                result.output = capped.text
                result.metadata["truncated"] = True
                result.metadata["outputPath"] = str(capped.saved) if capped.saved else None
        return result


def describe(error: ValidationError) -> str:
    """`field: what was expected` for each problem, joined with `; `."""
    problems: list[str] = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        expected = _EXPECTED.get(item["type"])
        if expected is None:
            message = str(item["msg"])
            expected = message[:1].lower() + message[1:]
        problem = f"{where}: {expected}"
        if problem not in problems:
            problems.append(problem)
    return "; ".join(problems)
