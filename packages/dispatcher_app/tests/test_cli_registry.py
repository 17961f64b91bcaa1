"""The CLI's table of sub-commands matches what each command module registers, and choosing one command
does not import the others' machinery."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from dispatcher_app.cli import COMMANDS, build_parser

SAMPLES = {
    "serve": [],
    "agent-token": ["agent-7"],
    "simulate": [],
    "db": ["current"],
    "demo": [],
    "worker": [],
    "api-key": ["list"],
}


def test_every_command_has_a_sample() -> None:
    assert set(SAMPLES) == set(COMMANDS)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_command_registers_under_its_table_entry(name: str) -> None:
    parser = build_parser(name)
    [subparsers] = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert set(subparsers.choices) == set(COMMANDS)
    helps = {choice.dest: choice.help for choice in subparsers._choices_actions}
    assert helps[name] == COMMANDS[name][1]
    assert callable(parser.parse_args([name, *SAMPLES[name]]).handler)


def test_help_and_simulate_do_not_load_the_web_stack() -> None:
    probe = (
        "import sys, contextlib, io\n"
        "from dispatcher_app.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['simulate', '--agents', '2', '--messages', '5', '--json', '--progress', 'never'])\n"
        "heavy = sorted(m for m in ('starlette', 'uvicorn', 'sqlalchemy', 'redis', 'httpx') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
