"""`opencode session list|delete`, `opencode export`, `opencode import`: sessions in the store."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from opencode.cli.runtime import CliError

if TYPE_CHECKING:
    from opencode.session.sqlite import SQLiteStore


def open_store() -> SQLiteStore:
    from opencode.session.sqlite import SQLiteStore

    return SQLiteStore()


def main(args: argparse.Namespace) -> int:
    store = open_store()
    try:
        if args.action == "list":
            return list_sessions(store, args)
        return delete_session(store, args.sessionID)
    finally:
        store.close()


def list_sessions(store: SQLiteStore, args: argparse.Namespace) -> int:
    sessions = store.list_sessions(limit=args.max_count, roots=True)
    if args.format == "json":
        sys.stdout.write(json.dumps([s.model_dump(mode="json", exclude_none=True) for s in sessions], indent=2) + "\n")
        return 0
    if not sessions:
        sys.stdout.write('no sessions yet: `opencode run "..."` starts one\n')
        return 0
    width = max(len(s.id) for s in sessions)
    sys.stdout.write(f"{'ID':<{width}}  {'UPDATED':<16}  TITLE\n")
    for session in sessions:
        updated = datetime.fromtimestamp(session.time.updated / 1000).strftime("%Y-%m-%d %H:%M")
        sys.stdout.write(f"{session.id:<{width}}  {updated:<16}  {session.title}\n")
    return 0


def delete_session(store: SQLiteStore, session_id: str) -> int:
    from opencode.session.store import NotFound

    try:
        store.delete_session(session_id)
    except NotFound:
        raise CliError(f"no session {session_id!r} (`opencode session list` shows them)") from None
    sys.stdout.write(f"deleted session {session_id}\n")
    return 0


def export_main(args: argparse.Namespace) -> int:
    from opencode.session.store import NotFound

    store = open_store()
    try:
        session_id = args.sessionID
        if not session_id:
            latest = store.list_sessions(limit=1, roots=True)
            if not latest:
                raise CliError("no sessions to export")
            session_id = latest[0].id
        try:
            document = store.export_session(session_id)
        except NotFound:
            raise CliError(f"no session {session_id!r} (`opencode session list` shows them)") from None
    finally:
        store.close()
    data: object = document.model_dump(mode="json", exclude_none=True)
    if args.sanitize:
        data = sanitize(data)
    sys.stdout.write(json.dumps(data, indent=2) + "\n")
    return 0


def sanitize(data: object) -> object:
    """Blank what a user may not want to share: titles, message text, tool input and output."""
    if isinstance(data, dict):
        out: dict[str, object] = {}
        for key, value in data.items():
            if key in ("text", "output", "raw", "title") and isinstance(value, str):
                out[key] = f"[{len(value)} characters removed]"
            elif key == "input" and isinstance(value, dict):
                out[key] = dict.fromkeys(value, "[removed]")
            else:
                out[key] = sanitize(value)
        return out
    if isinstance(data, list):
        return [sanitize(item) for item in data]
    return data


def import_main(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from opencode.session.model import SessionExport

    path = Path(args.file)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{args.file}: cannot read: {exc.strerror}") from None
    try:
        document = SessionExport.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise CliError(f"{args.file}: not an opencode session export ({where}: {first['msg']})") from None
    store = open_store()
    try:
        store.import_session(document)
    finally:
        store.close()
    sys.stdout.write(f"imported session {document.info.id} ({len(document.messages)} messages)\n")
    return 0
