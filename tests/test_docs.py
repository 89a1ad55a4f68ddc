"""The manual stays true to the program: every command has a page in docs/
that documents every one of its options, the language page lists exactly
the op table's functions, and every link between the pages leads somewhere.

(The examples on the pages are run by tests/test_readme.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer.core
import typer.main

from cgrad import ops
from cgrad.cli import app

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = ROOT / "README.md"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

CLI = typer.main.get_command(app)
assert isinstance(CLI, typer.core.TyperGroup)
COMMANDS = sorted(CLI.commands)

# In the options tables, `--x 1` shows how a value is given to an input
# named x: it is not an option of cgrad.
INPUT_EXAMPLES = {"--x"}


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def without_code_blocks(text: str) -> str:
    """The text outside fenced blocks (a `#` there is a comment, and a
    `[x](y)` there is not a link)."""
    return re.sub(r"^```.*?^```", "", text, flags=re.MULTILINE | re.DOTALL)


def code_spans(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", without_code_blocks(text))


def flags_in(spans: list[str]) -> set[str]:
    """The words of code spans that look like options: `--wrt x,y` gives --wrt."""
    words = (word for span in spans for word in re.split(r"[\s=,\\|]+", span))
    return {word for word in words if re.fullmatch(r"--?[a-z][a-z-]*", word)}


def section(text: str, title: str) -> str:
    """The text under the heading ``## title``, up to the next heading of
    that level or above."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^#{{1,2}} |\Z)", text, re.M | re.S)
    assert match, f"no section '## {title}'"
    return match.group(1)


def first_cells(table: str) -> str:
    """The first cell of each row of a Markdown table (a `\\|` inside a
    cell is a bar, not a border)."""
    rows = [line for line in table.splitlines() if line.startswith("|")]
    return "\n".join(re.split(r"(?<!\\)\|", row)[1] for row in rows)


def options_of(command: str) -> set[str]:
    parameters = CLI.commands[command].params
    return {flag for parameter in parameters for flag in parameter.opts if flag.startswith("-")}


def test_every_command_has_a_page_linked_from_the_readme():
    readme = read(README)
    for command in COMMANDS:
        assert (DOCS / f"{command}.md").exists(), f"cgrad {command} has no page docs/{command}.md"
        assert f"(docs/{command}.md)" in readme, f"the README does not link docs/{command}.md"


@pytest.mark.parametrize("command", COMMANDS)
def test_every_option_is_documented_on_the_commands_page(command):
    page = read(DOCS / f"{command}.md")
    assert page.startswith(f"# cgrad {command}"), f"docs/{command}.md: its title names the command"
    documented = flags_in(code_spans(first_cells(section(page, "Options"))))
    # --help and -h are every command's; Typer adds them.
    expected = options_of(command) | {"--help", "-h"}
    assert not expected - documented, f"docs/{command}.md: options not in its Options table"
    assert not documented - expected - INPUT_EXAMPLES, (
        f"docs/{command}.md documents options cgrad {command} does not have"
    )


def test_the_options_of_cgrad_itself_are_in_the_readme():
    expected = {flag for parameter in CLI.params for flag in parameter.opts}
    assert expected == {"--version"}, "a new option of cgrad itself: document it in the README"
    assert {"--version", "-h", "--help"} <= flags_in(code_spans(read(README)))


def documented_functions() -> dict[str, set[int | None]]:
    """The language page's Functions item: the names in a span followed by
    "of one argument" take one; `name(a, b)` takes two; `name(a, ...)` one
    or more (None, as in the op table)."""
    text = read(DOCS / "language.md")
    item = re.search(r"^- \*\*Functions\*\*:(.*?)(?=^- |\Z)", text, re.M | re.S)
    assert item, "docs/language.md has no '- **Functions**:' item"
    found: dict[str, set[int | None]] = {}
    for match in re.finditer(r"`([^`]+)`( of one argument)?", item.group(1)):
        span, one_argument = " ".join(match.group(1).split()), match.group(2)
        call = re.fullmatch(r"(\w+)\((.*)\)", span)
        if one_argument:
            for name in span.split():
                found.setdefault(name, set()).add(1)
        elif call:
            arguments = [argument.strip() for argument in call.group(2).split(",")]
            arity = None if "..." in arguments else len(arguments)
            found.setdefault(call.group(1), set()).add(arity)
    return found


def test_the_language_page_lists_the_op_tables_functions():
    table = {name: set(by_arity) for name, by_arity in ops.FUNCTIONS.items()}
    documented = documented_functions()
    missing, unknown = sorted(table.keys() - documented), sorted(documented.keys() - table)
    assert not missing, f"docs/language.md does not list the op table's functions {missing}"
    assert not unknown, f"docs/language.md lists functions the op table lacks: {unknown}"
    for name in table:
        assert documented[name] == table[name], f"docs/language.md: the arity of {name}"


def test_the_language_page_lists_the_constants():
    text = read(DOCS / "language.md")
    item = re.search(r"^- \*\*Constants\*\*:(.*?)\. ", text, re.M | re.S)
    assert item, "docs/language.md has no '- **Constants**:' item"
    assert sorted(re.findall(r"`([^`]+)`", item.group(1))) == sorted(ops.CONSTANTS)


def slug(heading: str) -> str:
    """A heading's anchor as GitHub makes it: lower case, punctuation
    dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for heading in re.findall(r"^#+ (.*)$", without_code_blocks(read(path)), re.M):
        anchor, count = slug(heading), 1
        while anchor in found:
            anchor, count = f"{slug(heading)}-{count}", count + 1
        found.add(anchor)
    return found


@pytest.mark.parametrize("page", PAGES, ids=[page.relative_to(ROOT).as_posix() for page in PAGES])
def test_every_link_leads_somewhere(page):
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", without_code_blocks(read(page))):
        if re.match(r"[a-z]+:", target):
            continue  # a URL: not checked here, the tests run offline
        path_text, _, anchor = target.partition("#")
        path = (page.parent / path_text).resolve() if path_text else page
        if not path.exists():
            broken.append(f"{target} (no such file)")
        elif anchor and anchor not in anchors(path):
            broken.append(f"{target} (no such heading)")
    assert not broken, f"{page.name}: broken links: {broken}"


def test_the_library_page_names_every_public_name():
    import cgrad

    documented = set(re.findall(r"`cgrad\.(\w+)", read(DOCS / "library.md")))
    assert not set(cgrad.__all__) - documented, "docs/library.md: public names not described"


def test_every_page_is_linked_from_the_readme():
    linked = set(re.findall(r"\]\(docs/([^)#\s]+)", read(README)))
    assert not {path.name for path in DOCS.glob("*.md")} - linked


def test_the_limits_hint_names_a_page_with_the_limits():
    from cgrad.parse import parser

    assert (
        parser.LIMITS_HINT == "cgrad's limits are in its manual, docs/bad-input.md, under 'Limits'"
    )
    page = ROOT / "docs" / "bad-input.md"
    assert "\n## Limits\n" in page.read_text(encoding="utf-8")
