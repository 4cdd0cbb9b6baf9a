"""The award-bot command line's verbs and options, in Chinese (argparse's headings and errors too)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any, NoReturn

from bot.wording import say


class _Formatter(argparse.HelpFormatter):
    def add_usage(self, usage, actions, groups, prefix=None):
        super().add_usage(usage, actions, groups, say("cli_usage") if prefix is None else prefix)


class _Parser(argparse.ArgumentParser):
    """argparse in Chinese: its headings, its -h, and its errors with a hint (each verb's parser too)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _Formatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = say("cli_positionals")
        self._optionals.title = say("cli_options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=say("cli_help_help"))

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(2, say("cli_error", hint=_argparse_hint(message), message=message, prog=self.prog) + "\n")


def _argparse_hint(message: str) -> str:
    """argparse's own complaint in Chinese, for the common ones."""
    if found := re.match(r"the following arguments are required: (.+)", message):
        return say("cli_error_required", what=found[1])
    if found := re.search(r"invalid choice: '(.*?)' \(choose from (.+)\)", message):
        return say("cli_error_choice", value=found[1], choices=found[2].replace("'", ""))
    if found := re.match(r"unrecognized arguments: (.+)", message):
        return say("cli_error_unknown", what=found[1])
    if found := re.match(r"argument (\S+): invalid \w+ value: '(.*)'", message):
        return say("cli_error_value", argument=found[1], value=found[2])
    if found := re.match(r"argument (\S+): expected one argument", message):
        return say("cli_error_needs_value", argument=found[1])
    return say("cli_error_other")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="award-bot", description=say("cli_description"), epilog=say("cli_epilog"))
    verbs = parser.add_subparsers(dest="verb", metavar="COMMAND", title=say("cli_commands"))

    def verb(name: str, summary: str) -> argparse.ArgumentParser:
        return verbs.add_parser(name, help=summary, description=summary)

    def db_option(command: argparse.ArgumentParser) -> None:
        command.add_argument("--db", type=Path, default=None, metavar="PATH", help=say("cli_help_db"))

    console = verb("console", say("cli_help_console"))
    console.add_argument("--user", default=None, metavar="NAME", help=say("cli_help_user"))
    console.add_argument("--name", default="", metavar="NAME", help=say("cli_help_name"))
    db_option(console)

    run = verb("run", say("cli_help_run"))
    run.add_argument("--webhook", default=None, metavar="URL", help=say("cli_help_webhook"))

    web = verb("web", say("cli_help_web"))
    web.add_argument("--host", default=None, metavar="HOST", help=say("cli_help_web_host"))
    web.add_argument("--port", type=int, default=None, metavar="PORT", help=say("cli_help_web_port"))
    db_option(web)

    office_link = verb("office-link", say("cli_help_office_link"))
    office_link.add_argument("coordinator", metavar="ID", help=say("cli_help_office_id"))
    db_option(office_link)

    invite = verb("invite", say("cli_help_invite"))
    invite.add_argument("--name", required=True, metavar="NAME", help=say("cli_help_invite_name"))
    invite.add_argument("--unit", default="", metavar="UNIT", help=say("cli_help_invite_unit"))
    invite.add_argument("--qr", type=Path, default=None, metavar="DIR", help=say("cli_help_invite_qr"))
    db_option(invite)

    check = verb("check", say("cli_help_check"))
    check.add_argument("question", metavar="QUESTION_ID", help=say("cli_help_question"))
    check.add_argument("--attachments", type=int, default=0, metavar="N", help=say("cli_help_attachments"))

    render = verb("render", say("cli_help_render"))
    render.add_argument("answers", type=Path, metavar="ANSWERS.json", help=say("cli_help_answers"))
    render.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.docx", help=say("cli_help_output"))
    render.add_argument("--no-pdf", action="store_true", help=say("cli_help_no_pdf"))

    demo = verb("demo", say("cli_help_demo"))
    demo.add_argument("-o", "--output", type=Path, default=None, metavar="OUT.docx", help=say("cli_help_demo_output"))
    demo.add_argument("--no-pdf", action="store_true", help=say("cli_help_no_pdf"))

    export = verb("export", say("cli_help_export"))
    export.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help=say("cli_help_export_output"))
    db_option(export)

    remind = verb("remind", say("cli_help_remind"))
    remind.add_argument("--dry-run", action="store_true", help=say("cli_help_dry_run"))
    db_option(remind)

    backup = verb("backup", say("cli_help_backup"))
    backup.add_argument("path", type=Path, metavar="PATH", help=say("cli_help_backup_path"))
    db_option(backup)

    criteria = verb("criteria", say("cli_help_criteria"))
    criteria_verbs = criteria.add_subparsers(dest="criteria_verb", metavar="ACTION", required=True,
                                             title=say("cli_help_actions"))
    validate = criteria_verbs.add_parser("validate", help=say("cli_help_validate"),
                                         description=say("cli_help_validate"))
    validate.add_argument("file", nargs="?", type=Path, default=None, metavar="FILE",
                          help=say("cli_help_criteria_file"))
    return parser
