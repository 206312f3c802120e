"""The ``{mlpkit-cli}`` directive: the command-line reference, read from the parsers themselves.

    ```{mlpkit-cli}
    ```

renders one section per command of ``mlpkit`` (and per action of
``mlpkit exercises``): its usage line, its description and a list of its
options with their help text, all taken from ``mlpkit.cli.build_parser()``.
The page is rebuilt when a module of ``code/cli/`` changes, so the reference
cannot fall behind the commands.
"""

import argparse
import pathlib
import re

from docutils import nodes
from sphinx.util.docutils import SphinxDirective


def _commands(parser, prefix):
    """(name, parser) for every leaf command under ``parser``, depth first, in the order they were added."""
    subparsers = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not subparsers:
        yield prefix, parser
        return
    for action in subparsers:
        seen = set()
        for name, sub in action.choices.items():
            if id(sub) in seen:  # an alias
                continue
            seen.add(id(sub))
            yield from _commands(sub, f"{prefix} {name}")


def _options(parser):
    """(invocation, help) for each argument of ``parser``, --help left out."""
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        formatter = parser._get_formatter()
        invocation = formatter._format_action_invocation(action)
        text = formatter._expand_help(action) if action.help else ""
        yield invocation, text


def _paragraph(text):
    """A paragraph in which options and file names (``--out``, ``metrics.json``) are code, not typography."""
    paragraph = nodes.paragraph()
    for piece in re.split(r"(--[\w-]+|\b[\w-]+\.(?:json|csv|png|npz|py|ipynb|gz)\b)", text):
        if not piece:
            continue
        is_code = piece.startswith("--") or re.fullmatch(r"[\w-]+\.\w+", piece)
        paragraph += nodes.literal(text=piece) if is_code else nodes.Text(piece)
    return paragraph


def _section(document, name, parser):
    section = nodes.section(ids=[nodes.make_id(f"cli-{name}")], names=[nodes.fully_normalize_name(name)])
    section += nodes.title(text=name)
    if parser.description:
        section += _paragraph(parser.description)
    section += nodes.literal_block(text=parser.format_usage().strip(), language="text")
    items = nodes.definition_list(classes=["mlpkit-cli-options"])
    for invocation, text in _options(parser):
        item = nodes.definition_list_item()
        term = nodes.term()
        term += nodes.literal(text=invocation)
        item += term
        definition = nodes.definition()
        definition += _paragraph(text or "(no description)")
        item += definition
        items += item
    if len(items):
        section += items
    if parser.epilog:
        section += nodes.literal_block(text=parser.epilog.strip(), language="text")
    return section


class CommandLineReference(SphinxDirective):
    has_content = False

    def run(self):
        from mlpkit import cli

        for module in sorted(pathlib.Path(cli.__file__).parent.glob("*.py")):  # the dispatcher and every command
            self.env.note_dependency(str(module))
        parser = cli.build_parser()
        return [_section(self.state.document, name, sub) for name, sub in _commands(parser, "mlpkit")]


def setup(app):
    app.add_directive("mlpkit-cli", CommandLineReference)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
