"""Shell commands as the permission rules see them: every simple command a command line would run.

`parse_command("echo ok && sudo rm -rf x")` reads the text with tree-sitter-bash and returns each
simple command it contains, as its words after quote removal: `echo ok`, `sudo rm -rf x` and,
unwrapped, `rm -rf x`. Every node of the tree is visited, so commands are found wherever the
shell would run them: in lists (`&&`, `||`, `;`), pipelines, subshells, `$( )` and backticks,
process substitution, redirections and here-documents, `if` / `for` / `while` / `case` bodies,
function bodies and variable assignments.

Wrappers. A program that runs another command given in its own arguments is a wrapper: `sudo`,
`env`, `xargs`, `timeout`, `find -exec`, `bash -c "..."`, `eval`, `ssh host ...` and the rest of
`WRAPPERS`. The wrapper is checked as a command, and so is the command it runs, found by
skipping the wrapper's own options and operands (`sudo -u root`, `timeout 5`, `env FOO=1`). Where
the wrapper takes a shell string (`sh -c`, `eval`, `watch`, `su -c`, `ssh`), the string is parsed
the same way, recursively. A wrapper option that is not in the table makes the position of the
inner command uncertain: both readings are checked, and the command counts as unknown.

Unknown commands. A command whose name is not a literal word (`$x -rf y`, `"${CMD}"`, `$(echo
rm) x`, a glob), a shell fed its script on standard input from elsewhere, a shell string that is
not literal, and text the parser cannot read are all "unknown": they can never be allowed
outright, only asked about (or denied, when a deny rule matches their text anyway).

Names: `/bin/rm`, `/usr/bin/rm` and `./rm` are matched as `rm` as well as as written.

What this cannot see: what a script file or another language's interpreter does (`sh build.sh`,
`python -c "..."`, `awk 'BEGIN{system(...)}'`) and aliases; those are checked by their own name.
Permission rules limit what the model asks for; they are not a sandbox.
"""

from __future__ import annotations

import codecs
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from opencode.permission.rules import Ruleset, Verdict

if TYPE_CHECKING:
    from tree_sitter import Node, Parser

MAX_DEPTH = 8
"""How deeply shell strings inside shell strings are followed before giving up (unknown)."""


@dataclass(frozen=True)
class Word:
    value: str
    """After quote removal; the source text when the word is not a literal."""
    literal: bool = True
    expands: bool = False
    """Unquoted glob or brace characters: the shell would turn it into other words."""


@dataclass(frozen=True)
class SimpleCommand:
    words: tuple[str, ...]
    source: str
    """The text it came from (the whole node, or the wrapper's command line)."""
    unknown: str | None = None
    """Why it cannot be checked, when it cannot."""
    via: tuple[str, ...] = ()
    """The wrappers it was found inside, outermost first."""

    @property
    def name(self) -> str:
        return command_name(self.words[0]) if self.words else ""

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def subjects(self) -> list[str]:
        """The spellings rules are matched against: the name as a bare command, and as written."""
        if not self.words:
            return [self.source]
        bare = " ".join((self.name, *self.words[1:]))
        return list(dict.fromkeys((bare, self.text)))


def command_name(word: str) -> str:
    """`/usr/bin/rm` and `./rm` are `rm`."""
    return word.rsplit("/", 1)[-1] if "/" in word.rstrip("/") else word


# --- wrappers ------------------------------------------------------------------------------

RunKind = Literal["command", "shell", "joined", "string", "markers", "first_string"]


@dataclass(frozen=True)
class Wrapper:
    """How a program that runs other commands takes them.

    run: "command"       the words after the options (and `operands`) are a command (sudo, env)
         "shell"         a shell: with a `c` flag the first operand is a script; with no operand
                         or `-s` it reads standard input (bash, sh, zsh)
         "joined"        the words after the options, joined by spaces, are a shell string (eval,
                         watch, ssh host ...)
         "string"        only the values of `string_options` are shell strings; operands are not
                         commands, except after `--` (su, runuser, script)
         "markers"       a command starts after each of `markers` and ends at one of `ends`
                         (find -exec ... ;, nix develop -c ...)
         "first_string"  the first operand is a shell string (trap)
    """

    run: RunKind = "command"
    value_options: frozenset[str] = frozenset()
    flags: frozenset[str] = frozenset()
    operands: int = 0
    """Operands before the command: timeout's DURATION, chroot's NEWROOT, ssh's HOST."""
    assignments: bool = False
    """NAME=value words before the command are skipped (env, sudo)."""
    string_options: frozenset[str] = frozenset()
    no_run: frozenset[str] = frozenset()
    """Options that make it run nothing (`command -v`)."""
    numeric_flags: bool = False
    """`-10` is a flag (nice)."""
    markers: frozenset[str] = frozenset()
    ends: frozenset[str] = frozenset()


def _w(
    run: RunKind = "command",
    *,
    values: str = "",
    flags: str = "",
    operands: int = 0,
    assignments: bool = False,
    strings: str = "",
    no_run: str = "",
    numeric: bool = False,
    markers: str = "",
    ends: str = "",
) -> Wrapper:
    return Wrapper(
        run,
        frozenset(values.split()),
        frozenset(flags.split()),
        operands,
        assignments,
        frozenset(strings.split()),
        frozenset(no_run.split()),
        numeric,
        frozenset(markers.split()),
        frozenset(ends.split()),
    )


_SHELL = _w(
    "shell",
    values="-o +o -O +O --rcfile --init-file",
    flags="-a -b -e -f -h -i -k -l -m -n -p -r -s -t -u -v -x -B -C -E -H -P -T +a +e +x +u +v "
    "--login --noprofile --norc --posix --restricted --verbose --noediting --debugger --norc",
)
_SUDO = _w(
    values="-C -D -g -h -p -R -r -T -t -U -u --close-from --chdir --group --host --prompt --chroot --role --type "
    "--command-timeout --other-user --user",
    flags="-A -b -E -H -i -K -k -n -P -S -s -N --askpass --background --preserve-env --set-home --login "
    "--non-interactive --preserve-groups --stdin --shell --reset-timestamp --remove-timestamp",
    assignments=True,
    no_run="-l --list -V --version -v --validate -e --edit",
)
_SU = _w(
    "string",
    values="-s -g -G -w --shell --group --supp-group --whitelist-environment",
    flags="- -l -m -p -f -P --login --preserve-environment --pty",
    strings="-c --command",
)
_RUN_IN_ENV = _w(
    values="--with --with-editable --with-requirements --python -p --directory --project --env-file --extra --group "
    "--only-group --package --index --index-url --extra-index-url --find-links -e --environment -n --name "
    "--prefix --cwd --manifest-path",
    flags="-q -v --quiet --verbose --no-project --isolated --frozen --locked --no-sync --all-extras --no-dev "
    "--active --offline --no-capture-output --live-stream",
    no_run="-m --module",
)

WRAPPERS: dict[str, Wrapper] = {
    # Run the rest of the line as a command, after their own options.
    "env": _w(
        values="-u -C -P --unset --chdir",
        flags="- -i -0 -v --ignore-environment --null --debug",
        strings="-S --split-string",
        assignments=True,
    ),
    "command": _w(flags="-p", no_run="-v -V"),
    "builtin": _w(),
    "exec": _w(values="-a", flags="-c -l"),
    "sudo": _SUDO,
    "doas": _w(values="-u -C", flags="-n -s -L"),
    "pkexec": _w(values="--user", flags="--disable-internal-agent --keep-cwd"),
    "run0": _w(values="-u -g -D --user --group --chdir --setenv --unit --property --description --slice --nice"),
    "nice": _w(values="-n --adjustment", numeric=True),
    "ionice": _w(values="-c -n -p -P -u --class --classdata --pid --pgid --uid", flags="-t --ignore"),
    "nohup": _w(),
    "setsid": _w(flags="-c -f -w --ctty --fork --wait"),
    "time": _w(values="-f -o --format --output", flags="-p -a -v -q --portability --append --verbose --quiet"),
    "timeout": _w(
        values="-s -k --signal --kill-after", flags="-v -f -p --preserve-status --foreground --verbose", operands=1
    ),
    "stdbuf": _w(values="-i -o -e --input --output --error"),
    "chroot": _w(values="--userspec --groups", flags="--skip-chdir", operands=1),
    "chrt": _w(values="-T -P -D", flags="-a -b -d -f -i -o -r -e -m -R -v --all-tasks --reset-on-fork", operands=1),
    "taskset": _w(flags="-a -c --all-tasks --cpu-list", operands=1),
    "xargs": _w(
        values="-a -d -E -I -L -n -P -s --arg-file --delimiter --eof --replace --max-lines --max-args --max-procs "
        "--max-chars --process-slot-var",
        flags="-0 -o -p -r -t -x -i -l -e --null --open-tty --interactive --no-run-if-empty --verbose --exit",
    ),
    "find": _w("markers", markers="-exec -execdir -ok -okdir", ends="; +"),
    "watch": _w(
        "joined",
        values="-n -q --interval --equexit",
        flags="-b -c -C -d -e -g -t -x -p -r -w --beep --color --no-color --differences --errexit --chgexit "
        "--no-title --exec --precise --no-wrap",
    ),
    "eval": _w("joined"),
    "trap": _w("first_string", flags="-l -p -P"),
    "ssh": _w(
        "joined",
        values="-b -c -D -E -e -F -I -i -J -L -l -m -O -o -p -Q -R -S -W -w -B",
        flags="-4 -6 -A -a -C -f -G -g -K -k -M -N -n -q -s -T -t -V -v -X -x -Y -y",
        operands=1,
    ),
    "su": _SU,
    "runuser": _w(
        "string",
        values="-u -g -G -s -w --user --group --supp-group --shell --whitelist-environment",
        flags="- -l -m -p -f -P --login --preserve-environment --pty",
        strings="-c --command",
    ),
    "script": _w("string", values="-E -I -O -B -T -m", flags="-a -e -f -q -k", strings="-c --command"),
    "flock": _w(
        values="-w -E --timeout --conflict-exit-code",
        flags="-s -x -u -n -o -F -e --shared --exclusive --unlock --nonblock --close --no-fork",
        strings="-c --command",
        operands=1,
    ),
    "nix-shell": _w("string", values="-p -I -A --arg --argstr --packages", flags="--pure", strings="--run --command"),
    "nix develop": _w("markers", markers="-c --command"),
    "nix shell": _w("markers", markers="-c --command"),
    "gdb": _w("markers", markers="--args"),
    "strace": _w(
        values="-e -o -p -P -s -u -E -a -b -I -X -O -S",
        flags="-c -C -d -D -f -ff -F -h -i -k -q -qq -r -t -tt -ttt -T -v -V -w -x -xx -y -yy -z -Z",
    ),
    "ltrace": _w(values="-e -o -p -s -u -a -n -l", flags="-c -C -f -i -r -S -t -tt -ttt -T"),
    "valgrind": _w(flags="-q -v"),
    "fakeroot": _w(values="-l -s -i", flags="-u"),
    "unbuffer": _w(flags="-p"),
    "caffeinate": _w(values="-t -w", flags="-d -i -m -s -u"),
    "torsocks": _w(values="-u -p -a -P", flags="-i -d -q"),
    "proxychains": _w(values="-f", flags="-q"),
    "proxychains4": _w(values="-f", flags="-q"),
    "dbus-run-session": _w(values="--config-file --dbus-daemon"),
    "xvfb-run": _w(values="-n -s -f -e -p -w --server-num --server-args --auth-file --error-file", flags="-a"),
    "busybox": _w(),
    "toybox": _w(),
    "coproc": _w(),
    "nocorrect": _w(),
    "noglob": _w(),
    "direnv exec": _w(operands=1),
    "uv run": _RUN_IN_ENV,
    "poetry run": _RUN_IN_ENV,
    "pipenv run": _RUN_IN_ENV,
    "pdm run": _RUN_IN_ENV,
    "hatch run": _RUN_IN_ENV,
    "rye run": _RUN_IN_ENV,
    "pixi run": _RUN_IN_ENV,
    "conda run": _RUN_IN_ENV,
    "mamba run": _RUN_IN_ENV,
    "micromamba run": _RUN_IN_ENV,
    "bundle exec": _RUN_IN_ENV,
}
"""Programs that run another command from their arguments (see `Wrapper` for the shapes)."""

for _shell in ("sh", "bash", "zsh", "dash", "ksh", "mksh", "ash", "rbash", "yash", "fish", "csh", "tcsh"):
    WRAPPERS[_shell] = _SHELL


# --- parsing -------------------------------------------------------------------------------


def parse_command(command: str) -> list[SimpleCommand]:
    """Every simple command in `command` (wrapped ones unwrapped), in the order they appear."""
    return _Collector().parse(command, (), 0)


def always_pattern(words: tuple[str, ...] | list[str]) -> str:
    """The pattern an "always" answer remembers: the command and its subcommands, then " *"
    (`git push origin main` -> `git push *`, `npm run test` -> `npm run test *`, `rm -rf x` -> `rm *`)."""
    tokens = [command_name(words[0]), *words[1:]] if words else []
    size = 1
    for length in range(min(len(tokens), 3), 0, -1):
        arity = ARITY.get(" ".join(tokens[:length]))
        if arity is not None:
            size = arity
            break
    return " ".join(tokens[:size]) + " *"


ARITY: dict[str, int] = {
    "git": 2, "git config": 3, "git remote": 3, "git stash": 3, "npm": 2, "npm run": 3, "npm exec": 3,
    "pnpm": 2, "pnpm run": 3, "pnpm exec": 3, "yarn": 2, "yarn run": 3, "bun": 2, "bun run": 3, "bun x": 3,
    "cargo": 2, "cargo run": 3, "go": 2, "docker": 2, "docker compose": 3, "kubectl": 2, "make": 2,
    "pip": 2, "uv": 2, "uv run": 3, "poetry": 2, "python": 3, "python3": 3, "gh": 3, "brew": 2,
    "terraform": 2, "systemctl": 2, "deno": 2, "deno task": 3, "mvn": 2, "gradle": 2, "helm": 2,
}  # fmt: skip
"""How many words name a command for "always" patterns (opencode's idea): `git push`, not `git`."""


@functools.cache
def _parser() -> Parser:
    # Imported here: tree-sitter is only needed once a command is checked.
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


@dataclass
class _Collector:
    found: list[SimpleCommand] = field(default_factory=list)
    # Extra words tree-sitter files under a redirect (`rm >/dev/null -rf x`) and here-strings or
    # here-documents feeding a command, keyed by the command node's id.
    extra: dict[int, list[Node]] = field(default_factory=dict)
    stdin: dict[int, Word] = field(default_factory=dict)

    def parse(self, text: str, via: tuple[str, ...], depth: int) -> list[SimpleCommand]:
        if depth > MAX_DEPTH:
            self.found.append(SimpleCommand((text,), text, "shell strings nested too deeply to follow", via))
            return self.found
        tree = _parser().parse(_join_continuations(text).encode("utf-8"))
        if tree.root_node.has_error:
            # Whatever did parse is still checked, so a deny in the readable part holds.
            self.found.append(SimpleCommand((text,), text, "the shell parser could not read this command", via))
        self._walk(tree.root_node, via, depth)
        return self.found

    def _walk(self, node: Node, via: tuple[str, ...], depth: int) -> None:
        kind = node.type
        if kind == "redirected_statement":
            self._note_redirects(node)
        elif kind == "command":
            words = self._command_words(node)
            source = _text(node)
            self._add(words, source, via, depth, self.stdin.pop(node.id, None) or _herestring(node))
        elif kind in ("declaration_command", "unset_command"):
            words = [Word(_text(node.children[0]))] + [_word(c) for c in node.named_children if c.type != "comment"]
            self.found.append(SimpleCommand(tuple(w.value for w in words), _text(node), None, via))
        # Always descend: substitutions inside arguments, conditions and bodies run too.
        for child in node.children:
            self._walk(child, via, depth)

    def _note_redirects(self, node: Node) -> None:
        body = node.child_by_field_name("body")
        if body is None or body.type != "command":
            return
        for redirect in node.children_by_field_name("redirect"):
            if redirect.type == "file_redirect":
                self.extra.setdefault(body.id, []).extend(redirect.children_by_field_name("destination")[1:])
            elif redirect.type == "heredoc_redirect":
                for part in redirect.named_children:
                    if part.type == "heredoc_body":
                        self.stdin[body.id] = Word(_text(part))
            elif redirect.type == "herestring_redirect" and redirect.named_children:
                self.stdin[body.id] = _word(redirect.named_children[-1])

    def _command_words(self, node: Node) -> list[Word]:
        words: list[Word] = []
        for index, child in enumerate(node.children):
            if node.field_name_for_child(index) in ("name", "argument"):
                words.append(_word(child))
        words += [_word(extra) for extra in self.extra.pop(node.id, [])]
        return words

    def _add(self, words: list[Word], source: str, via: tuple[str, ...], depth: int, stdin: Word | None) -> None:
        if not words:
            return
        head = words[0]
        unknown = None
        if not head.literal:
            unknown = f"the command name {head.value} is not a literal word, so it cannot be checked"
        elif head.expands:
            unknown = f"the command name {head.value} is a pattern the shell expands, so it cannot be checked"
        self.found.append(SimpleCommand(tuple(w.value for w in words), source, unknown, via))
        if unknown is None:
            _Unwrapper(self, words, source, via, depth, stdin).run()

    def add_string(self, word: Word, source: str, via: tuple[str, ...], depth: int) -> None:
        """A shell string a wrapper runs: parsed like a command line when it is a literal."""
        if not word.literal:
            reason = f"it runs a shell string that is not a literal ({word.value}), so it cannot be checked"
            self.found.append(SimpleCommand((word.value,), source, reason, via))
            return
        self.parse(word.value, via, depth + 1)


@dataclass
class _Unwrapper:
    """Finds what one wrapper runs; see `Wrapper`."""

    collector: _Collector
    words: list[Word]
    source: str
    via: tuple[str, ...]
    depth: int
    stdin: Word | None

    def run(self) -> None:
        name = command_name(self.words[0].value)
        key, start = name, 1
        if len(self.words) > 1 and f"{name} {self.words[1].value}" in WRAPPERS:
            key, start = f"{name} {self.words[1].value}", 2
        spec = WRAPPERS.get(key)
        if spec is None:
            return
        via = (*self.via, key)
        args = self.words[start:]
        if spec.run == "markers":
            self._markers(spec, args, via)
            return
        parsed = _options(spec, args)
        if parsed is None:
            return
        rest, strings, uncertain = parsed
        for string in strings:
            self.collector.add_string(string, self.source, via, self.depth)
        if spec.run == "shell":
            self._shell(args, rest, via)
        elif spec.run == "joined":
            if rest:
                literal = all(word.literal for word in rest)
                joined = Word(" ".join(word.value for word in rest), literal)
                self.collector.add_string(joined, self.source, via, self.depth)
        elif spec.run == "first_string":
            if len(rest) > 1 and rest[0].value != "-":
                self.collector.add_string(rest[0], self.source, via, self.depth)
        elif spec.run == "string":
            if rest and rest[0].value == "--":
                self._inner(rest[1:], via, uncertain)
        elif not strings:
            self._inner(rest, via, uncertain)

    def _inner(self, words: list[Word], via: tuple[str, ...], uncertain: bool) -> None:
        if not words:
            return
        self.collector._add(words, self.source, via, self.depth, None)
        if uncertain:
            # An option we do not know may have taken the next word as its value: check the
            # other reading too, and ask, since we cannot tell which one the program uses.
            reason = f"{via[-1]} has an option this checker does not know, so the command it runs is uncertain"
            self.collector.found.append(SimpleCommand(tuple(w.value for w in words), self.source, reason, via))
            if len(words) > 1:
                self.collector._add(words[1:], self.source, via, self.depth, None)

    def _shell(self, args: list[Word], rest: list[Word], via: tuple[str, ...]) -> None:
        clusters = [w.value for w in args[: len(args) - len(rest)] if w.value.startswith("-")]
        if any("c" in flag[1:] for flag in clusters if not flag.startswith("--")):
            if rest:
                self.collector.add_string(rest[0], self.source, via, self.depth)
            return
        if rest and "-s" not in clusters:
            return  # `bash script.sh`: a file we cannot see into; checked by the shell's own name
        if self.stdin is not None:
            self.collector.add_string(self.stdin, self.source, via, self.depth)
            return
        reason = "a shell reading its commands from standard input runs whatever it is fed, so it cannot be checked"
        self.collector.found.append(SimpleCommand(tuple(w.value for w in self.words), self.source, reason, via))

    def _markers(self, spec: Wrapper, args: list[Word], via: tuple[str, ...]) -> None:
        index = 0
        while index < len(args):
            if args[index].value in spec.markers:
                end = index + 1
                while end < len(args) and args[end].value not in spec.ends:
                    end += 1
                self._inner(args[index + 1 : end], via, False)
                index = end
            index += 1


def _options(spec: Wrapper, args: list[Word]) -> tuple[list[Word], list[Word], bool] | None:
    """Skip a wrapper's options and operands: (the words left, shell-string option values, whether
    an unknown option was met), or None when an option says it runs nothing."""
    strings: list[Word] = []
    uncertain = False
    operands = spec.operands
    index = 0
    while index < len(args):
        word = args[index]
        text = word.value
        nxt = args[index + 1] if index + 1 < len(args) else None
        if text == "--":
            if spec.run == "string":
                return args[index:], strings, uncertain
            return args[index + 1 :], strings, uncertain
        if spec.assignments and re.match(r"[A-Za-z_][A-Za-z0-9_]*=", text):
            index += 1
            continue
        if text in spec.flags:
            index += 1
            continue
        if text.startswith("--") and word.literal:
            name, eq, value = text.partition("=")
            if name in spec.no_run:
                return None
            if name in spec.string_options:
                if eq:
                    strings.append(Word(value, word.literal))
                elif nxt is not None:
                    strings.append(nxt)
                index += 1 if eq else 2
                continue
            if name in spec.value_options:
                index += 1 if eq else 2
                continue
            uncertain |= name not in spec.flags
            index += 1
            continue
        if text.startswith(("-", "+")) and len(text) > 1 and word.literal:
            if spec.numeric_flags and text[1:].isdigit():
                index += 1
                continue
            consumed = 1
            sign = text[0]
            for position, letter in enumerate(text[1:], start=1):
                option = sign + letter
                rest = text[position + 1 :]
                if option in spec.no_run:
                    return None
                if option in spec.string_options:
                    if rest:
                        strings.append(Word(rest))
                    elif nxt is not None:
                        strings.append(nxt)
                        consumed = 2
                    break
                if option in spec.value_options:
                    consumed = 1 if rest else 2
                    break
                if option not in spec.flags and not (spec.run == "shell" and letter.isalpha()):
                    uncertain = True
            index += consumed
            continue
        if operands > 0:
            operands -= 1
            index += 1
            continue
        if spec.run == "string":
            index += 1  # su's user name; options may follow it
            continue
        break
    return args[index:], strings, uncertain


# --- words ---------------------------------------------------------------------------------


def _join_continuations(text: str) -> str:
    """Drop backslash-newline outside single quotes, as bash does before it splits words
    (tree-sitter reads `ex\\<newline>ec` as two words, bash as `exec`)."""
    if "\\\n" not in text:
        return text
    out: list[str] = []
    quote = ""
    index = 0
    while index < len(text):
        char = text[index]
        if quote == "'":
            quote = "" if char == "'" else quote
        elif char == "\\" and index + 1 < len(text):
            if text[index + 1] != "\n":
                out.append(text[index : index + 2])
            index += 2
            continue
        elif char == "'" and not quote:
            quote = "'"
        elif char == '"':
            quote = "" if quote == '"' else '"'
        out.append(char)
        index += 1
    return "".join(out)


_DOUBLE_QUOTE_ESCAPE = re.compile(r"\\([$`\"\\])")
_UNQUOTED_ESCAPE = re.compile(r"\\(.)", re.DOTALL)
_EXPANDING = re.compile(r"(?<!\\)[*?\[{]")


def _text(node: Node) -> str:
    return (node.text or b"").decode("utf-8", "replace")


def _word(node: Node) -> Word:
    kind = node.type
    text = _text(node)
    handler = _WORD_KINDS.get(kind)
    if handler is not None:
        return handler(node, text)
    return Word(text, literal=False)


def _plain(node: Node, text: str) -> Word:
    text = text.replace("\\\n", "")  # a line continuation joins the word's halves
    return Word(_UNQUOTED_ESCAPE.sub(r"\1", text), expands=_EXPANDING.search(text) is not None)


def _double_quoted(node: Node, text: str) -> Word:
    if any(child.type != "string_content" for child in node.named_children):
        return Word(text, literal=False)
    start = text.index('"') + 1
    return Word(_DOUBLE_QUOTE_ESCAPE.sub(r"\1", text[start:-1].replace("\\\n", "")))


def _ansi_c(node: Node, text: str) -> Word:
    try:
        return Word(codecs.decode(text[2:-1].replace("\\'", "'"), "unicode_escape"))
    except UnicodeDecodeError:
        return Word(text, literal=False)


def _concatenation(node: Node, text: str) -> Word:
    parts = [_word(child) for child in node.children]
    literal = all(part.literal for part in parts)
    value = "".join(part.value for part in parts) if literal else text
    return Word(value, literal, any(part.expands for part in parts))


def _command_name(node: Node, text: str) -> Word:
    return _word(node.named_children[0]) if node.named_children else Word(text)


_WORD_KINDS: dict[str, Callable[[Any, str], Word]] = {
    "word": _plain,
    "number": lambda node, text: Word(text),
    "raw_string": lambda node, text: Word(text[1:-1]),
    "string": _double_quoted,
    "translated_string": _double_quoted,
    "ansi_c_string": _ansi_c,
    "concatenation": _concatenation,
    "command_name": _command_name,
}


def _herestring(node: Node) -> Word | None:
    for child in node.named_children:
        if child.type == "herestring_redirect" and child.named_children:
            return _word(child.named_children[-1])
    return None


# --- verdicts ------------------------------------------------------------------------------


def explain_bash(ruleset: Ruleset, command: str) -> list[tuple[SimpleCommand, Verdict]]:
    """Each simple command in `command` with its own verdict."""
    return [(part, _verdict(ruleset, part)) for part in parse_command(command)]


def check_bash(ruleset: Ruleset, command: str) -> Verdict:
    """deny if any simple command is denied; else ask if any asks or cannot be checked; else allow."""
    explained = explain_bash(ruleset, command)
    if not explained:
        return ruleset.evaluate("bash", command.strip())
    for wanted in ("deny", "ask"):
        for _, verdict in explained:
            if verdict.action == wanted:
                return verdict
    return explained[0][1]


def _verdict(ruleset: Ruleset, part: SimpleCommand) -> Verdict:
    verdict = ruleset.evaluate("bash", part.subjects())
    if part.unknown is None or verdict.action == "deny":
        return verdict
    return Verdict("ask", "bash", part.text, verdict.rule, part.unknown)
