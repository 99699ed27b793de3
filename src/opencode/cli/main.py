"""`opencode`'s entry point: parse the command line, then hand over to the verb's module.

This module is on every start-up path, so it imports only the standard library's argparse and
builds the parser; each verb's module (and with it httpx, pydantic, ...) is imported only when
that verb runs. Verbs and flags follow opencode's CLI so its users feel at home.

A bad flag or value is one line on stderr naming the flag and what is allowed, exit code 2.
A user error at run time (bad config, unknown model, missing key) is one line, exit code 1.
"""

from __future__ import annotations

import argparse
import os
import sys

from opencode import __version__

# `typing` costs ~3 ms to import; this module is on every start-up path. mypy treats any name
# TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import NoReturn

LOG_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR")


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors: `opencode run: --format: invalid choice 'x' (choose from ...)`."""

    def error(self, message: str) -> NoReturn:
        message = message.replace("argument ", "").replace("invalid choice: ", "invalid choice ")
        message = message.replace("(choose from ", "(choose from ").replace("'", "")
        sys.stderr.write(f"{self.prog}: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--print-logs", action="store_true", help="print logs to stderr")
    parser.add_argument("--log-level", choices=LOG_LEVELS, type=str.upper, help="log level")


def _model_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-m", "--model", metavar="PROVIDER/MODEL", help="model to use, e.g. anthropic/claude-sonnet-4-5"
    )
    parser.add_argument("--agent", help="agent to use (its model, prompt and temperature from config)")


def build_parser() -> Parser:
    root = Parser(
        prog="opencode",
        usage="opencode [project] [-m PROVIDER/MODEL] [--agent NAME] [--prompt TEXT]\n       opencode <command> ...",
        description="OpenCode: an AI coding agent for the terminal. Without a command it starts in the project "
        "directory (default: the current one).",
        epilog="Run `opencode <command> --help` for a command's options.",
    )
    root.add_argument("-v", "--version", action="version", version=__version__)
    _common(root)
    verbs = root.add_subparsers(dest="command", metavar="<command>", parser_class=Parser, prog="opencode")

    run = verbs.add_parser("run", help="run opencode with a message", description="Send a message and print the reply.")
    run.add_argument("message", nargs="*", help="the message (also read from stdin when piped)")
    _model_flags(run)
    run.add_argument("-c", "--continue", dest="cont", action="store_true", help="continue the last session")
    run.add_argument("-s", "--session", metavar="ID", help="continue the session with this id")
    run.add_argument("--title", help="title for the session")
    run.add_argument("--command", metavar="NAME", help="run a custom command; the message is its arguments")
    run.add_argument("-f", "--file", action="append", default=[], metavar="PATH", help="attach a file (repeatable)")
    run.add_argument("--format", choices=("default", "json"), default="default", help="output: text or JSON events")
    run.add_argument("--thinking", action="store_true", help="show the model's reasoning")
    run.add_argument("--dir", metavar="PATH", help="directory to run in")
    _common(run)
    run.set_defaults(handler="opencode.cli.run:main")

    models = verbs.add_parser("models", help="list available models", description="List models as provider/model.")
    models.add_argument("provider", nargs="?", help="only this provider's models")
    models.add_argument("--verbose", action="store_true", help="show each model's limits, prices and capabilities")
    models.add_argument("--refresh", action="store_true", help="refresh the model catalog from models.dev")
    _common(models)
    models.set_defaults(handler="opencode.cli.models:main")

    for name, aliases in (("auth", ["providers"]),):
        auth = verbs.add_parser(name, aliases=aliases, help="manage provider credentials")
        _common(auth)
        actions = auth.add_subparsers(dest="action", metavar="<action>", parser_class=Parser, required=True)
        login = actions.add_parser("login", help="store an API key for a provider")
        login.add_argument("provider", nargs="?", help="provider id, e.g. anthropic (asked when left out)")
        login.add_argument("-p", "--provider", dest="provider_flag", metavar="ID", help="provider id")
        _common(login)
        listing = actions.add_parser("list", aliases=["ls"], help="list stored and detected credentials")
        _common(listing)
        logout = actions.add_parser("logout", help="remove a stored credential")
        logout.add_argument("provider", nargs="?", help="provider id (asked when left out)")
        _common(logout)
        auth.set_defaults(handler="opencode.cli.auth:main")

    session = verbs.add_parser("session", help="manage sessions")
    _common(session)
    session_actions = session.add_subparsers(dest="action", metavar="<action>", parser_class=Parser, required=True)
    session_list = session_actions.add_parser("list", help="list sessions, newest first")
    session_list.add_argument("-n", "--max-count", type=_positive_int, metavar="N", help="show at most N sessions")
    session_list.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    _common(session_list)
    session_delete = session_actions.add_parser("delete", help="delete a session and everything in it")
    session_delete.add_argument("sessionID", help="the session's id")
    _common(session_delete)
    session.set_defaults(handler="opencode.cli.session:main")

    export = verbs.add_parser("export", help="print a session as JSON (info, messages, parts)")
    export.add_argument("sessionID", nargs="?", help="session id (default: the latest)")
    export.add_argument("--sanitize", action="store_true", help="blank titles, message text and tool input/output")
    _common(export)
    export.set_defaults(handler="opencode.cli.session:export_main")

    importer = verbs.add_parser("import", help="import a session exported with `opencode export`")
    importer.add_argument("file", help="the JSON file")
    _common(importer)
    importer.set_defaults(handler="opencode.cli.session:import_main")

    stats = verbs.add_parser("stats", help="tokens and cost by model and by day")
    stats.add_argument("--days", type=_positive_int, metavar="N", help="only the last N days")
    stats.add_argument("--format", choices=("table", "json"), default="table", help="output format")
    _common(stats)
    stats.set_defaults(handler="opencode.cli.stats:main")

    agent = verbs.add_parser("agent", help="list or create agents")
    _common(agent)
    agent_actions = agent.add_subparsers(dest="action", metavar="<action>", parser_class=Parser, required=True)
    _common(agent_actions.add_parser("list", help="every agent with its mode and where it is defined"))
    create = agent_actions.add_parser("create", help="write a new agent as a markdown file")
    create.add_argument("--name", help="the agent's name (asked when left out)")
    create.add_argument("--path", help="directory to write to (default: .opencode/agent in the project)")
    create.add_argument("--description", help="what the agent is for (asked when left out)")
    create.add_argument("--mode", choices=("all", "primary", "subagent"), help="where it can be used")
    create.add_argument("-m", "--model", metavar="PROVIDER/MODEL", help="model for this agent")
    create.add_argument("--prompt", help="the agent's system prompt (default: from the description)")
    create.add_argument("--tools", help="comma-separated tools to enable (default: all)")
    _common(create)
    agent.set_defaults(handler="opencode.cli.agent:main")

    for name, handler, summary in (
        ("serve", "opencode.cli.serve:main", "start the HTTP server (opencode's API, SSE, WebSocket, GraphQL)"),
        ("web", "opencode.cli.serve:web_main", "start the server and open its browser UI"),
    ):
        server = verbs.add_parser(name, help=summary, description=summary[0].upper() + summary[1:] + ".")
        server.add_argument(
            "--port", type=_port, metavar="N", help="port to listen on (default: 4096 if free, else any; 0: any)"
        )
        server.add_argument(
            "--hostname", default="127.0.0.1", help="address to bind (off loopback needs OPENCODE_SERVER_PASSWORD)"
        )
        server.add_argument(
            "--cors", action="append", default=[], metavar="ORIGIN", help="also allow browser calls from ORIGIN"
        )
        _model_flags(server)
        _common(server)
        server.set_defaults(handler=handler)

    attach = verbs.add_parser(
        "attach",
        help="attach to a running opencode server",
        description="Run the terminal UI against `opencode serve`.",
    )
    attach.add_argument("url", help="the server, e.g. http://localhost:4096")
    attach.add_argument("--dir", metavar="PATH", help="directory to run in")
    attach.add_argument("-c", "--continue", dest="cont", action="store_true", help="continue the last session")
    attach.add_argument("-s", "--session", metavar="ID", help="session id to continue")
    attach.add_argument("-p", "--password", help="the server's password (default: OPENCODE_SERVER_PASSWORD)")
    attach.add_argument("-u", "--username", help="basic auth user (default: OPENCODE_SERVER_USERNAME, else opencode)")
    _common(attach)
    attach.set_defaults(handler="opencode.cli.attach:main")

    debug = verbs.add_parser("debug", help="debugging and troubleshooting tools")
    _common(debug)
    tools = debug.add_subparsers(dest="action", metavar="<action>", parser_class=Parser, required=True)
    _common(tools.add_parser("config", help="print the merged config, secrets masked"))
    _common(tools.add_parser("paths", help="print the data, config, cache and state paths"))
    permission = tools.add_parser("permission", help="the verdict for a bash command or a path, and the rule behind it")
    permission.add_argument("subject", help='a bash command ("rm -rf x") or, with --tool, a path or pattern')
    permission.add_argument("--tool", default="bash", help="permission to check: bash (default), edit, read, ...")
    permission.add_argument("--agent", default=None, help="check with this agent's overrides")
    _common(permission)
    lsp = tools.add_parser("lsp", help="what the language servers say: diagnostics of a file, symbols")
    _common(lsp)
    lsp_actions = lsp.add_subparsers(dest="lsp_action", metavar="<what>", parser_class=Parser, required=True)
    lsp_diagnostics = lsp_actions.add_parser("diagnostics", help="the errors and warnings of a file")
    lsp_diagnostics.add_argument("file", help="the file")
    _common(lsp_diagnostics)
    lsp_symbols = lsp_actions.add_parser("symbols", help="workspace symbols matching a query")
    lsp_symbols.add_argument("query", help="part of a symbol's name")
    _common(lsp_symbols)
    debug.set_defaults(handler="opencode.cli.debug:main")

    mcp = verbs.add_parser("mcp", help="MCP servers: list, add, sign in, and serve this agent over MCP")
    _common(mcp)
    mcp_actions = mcp.add_subparsers(dest="action", metavar="<action>", parser_class=Parser, required=True)
    mcp_list = mcp_actions.add_parser("list", aliases=["ls"], help="configured servers, their status and tools' size")
    _common(mcp_list)
    mcp_list.set_defaults(handler="opencode.cli.mcp:list_main")
    mcp_add = mcp_actions.add_parser("add", help="add a server to the config (asks what it needs, or takes flags)")
    mcp_add.add_argument("name", nargs="?", help="the server's name (asked when left out)")
    mcp_add.add_argument("--command", dest="server_command", metavar="CMD", help="a local server: the command to run")
    mcp_add.add_argument("--url", help="a remote server: its URL")
    mcp_add.add_argument("--header", action="append", default=[], metavar="NAME=VALUE", help="a header (remote)")
    mcp_add.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a variable (local)")
    mcp_add.add_argument("--global", dest="global_", action="store_true", help="write the global config")
    _common(mcp_add)
    mcp_add.set_defaults(handler="opencode.cli.mcp:add_main")
    mcp_auth = mcp_actions.add_parser("auth", help="sign in to a remote server (OAuth in the browser)")
    mcp_auth.add_argument("name", nargs="?", help="the server (asked when left out)")
    _common(mcp_auth)
    mcp_auth.set_defaults(handler="opencode.cli.mcp_auth:auth_main")
    mcp_logout = mcp_actions.add_parser("logout", help="forget a remote server's tokens")
    mcp_logout.add_argument("name", nargs="?", help="the server (asked when left out)")
    _common(mcp_logout)
    mcp_logout.set_defaults(handler="opencode.cli.mcp_auth:logout_main")
    mcp_serve = mcp_actions.add_parser("serve", help="expose this agent's tools and a run_agent tool to MCP clients")
    mcp_serve.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="stdio (default) or http")
    mcp_serve.add_argument("--port", type=_port, default=0, metavar="N", help="http: port (default any free one)")
    mcp_serve.add_argument(
        "--hostname", default="127.0.0.1", help="http: address (off loopback needs OPENCODE_SERVER_PASSWORD)"
    )
    _model_flags(mcp_serve)
    _common(mcp_serve)
    mcp_serve.set_defaults(handler="opencode.cli.mcp_serve:main")
    return root


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number above 0, got {value}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {value}")
    return value


def build_default_parser() -> Parser:
    """`opencode [project]`: the main job (the interactive chat until the TUI lands)."""
    parser = Parser(prog="opencode", description="Start OpenCode in a project directory.")
    parser.add_argument("-v", "--version", action="version", version=__version__)
    parser.add_argument("project", nargs="?", help="project directory (default: the current directory)")
    _model_flags(parser)
    parser.add_argument("--prompt", help="first message to send")
    _common(parser)
    parser.set_defaults(handler="opencode.cli.chat:main", command=None)
    return parser


def _verbs(parser: Parser) -> set[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return set(action.choices)
    return set()


_VALUE_FLAGS = {"-m", "--model", "--agent", "--prompt", "--log-level", "-s", "--session"}


def _first_positional(argv: Sequence[str]) -> str | None:
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg in _VALUE_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    first = _first_positional(argv)
    wants_help = any(a in ("-h", "--help", "-v", "--version") for a in argv)
    if first is None and wants_help:
        return parser.parse_args(argv)
    if first is None or first not in _verbs(parser):
        return build_default_parser().parse_args(argv)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(list(sys.argv[1:] if argv is None else argv))
    from opencode.cli.runtime import dispatch

    return dispatch(args)


def entry() -> None:
    """The `opencode` command: `main`, then out without Python's teardown.

    At exit the interpreter frees every module and object one at a time (about 50 ms once the
    engine is loaded) for a process that ends anyway. Each verb closes what it opened (the store,
    HTTP clients, child processes); here the output is flushed and logging shut down, then the
    process exits with the verb's code."""
    try:
        code = main()
    except SystemExit as exc:  # argparse (--help, a bad flag) exits from inside main
        if not isinstance(exc.code, int | None):
            raise
        code = exc.code or 0
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`opencode run ... | head`): nothing left to say
            pass
    logging = sys.modules.get("logging")  # not imported on the --help path: no import just to shut it down
    if logging is not None:
        logging.shutdown()
    os._exit(code)


if __name__ == "__main__":
    entry()
