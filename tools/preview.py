"""Preview of a side-effect tool: what it would send, computed on a snapshot of the database.

The tool runs unchanged against a copy of the SQLite file, with the simulator's own gateway, so
the preview shows exactly the recipients and texts a real run would produce and nothing leaves
the machine. The dispatcher approves or rejects on that basis.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlmodel import Session, func, select

from sim_grid import open_city
from sim_grid.models import SmsOutbox
from tools.context import ToolContext
from tools.contract import SIDE_EFFECT_TOOLS
from tools.registry import call_tool

# Recipients listed by name in a preview; the rest are counted.
PREVIEW_RECIPIENTS = 5


class PreviewUnavailable(RuntimeError):
    """Raised when the database cannot be snapshotted (a server database such as PostgreSQL)."""


def _sqlite_path(ctx: ToolContext) -> Path:
    url = ctx.engine.url
    if not url.drivername.startswith("sqlite") or not url.database:
        raise PreviewUnavailable(f"preview needs a SQLite file database, not {url.drivername}")
    return Path(url.database)


def _snapshot(source: Path, target: Path) -> None:
    """Copy a live SQLite database consistently (the backup API sees committed data only)."""
    with sqlite3.connect(str(source)) as origin, sqlite3.connect(str(target)) as copy:
        origin.backup(copy)


def preview_side_effect(name: str, arguments: dict, ctx: ToolContext) -> dict:
    """Return what ``name`` would send: recipients, a sample text and the tool's own summary."""
    if name not in SIDE_EFFECT_TOOLS:
        raise ValueError(f"{name} has no side effect to preview")
    source = _sqlite_path(ctx)

    folder = Path(tempfile.mkdtemp(prefix="dr-preview-"))
    try:
        copy_path = folder / "snapshot.db"
        _snapshot(source, copy_path)
        engine = open_city(copy_path)
        with Session(engine) as session:
            before = session.exec(select(func.max(SmsOutbox.id))).one() or 0

        result = call_tool(name, arguments, ToolContext(engine, settings=ctx.settings, output_dir=folder / "charts"))

        with Session(engine) as session:
            rows = session.exec(select(SmsOutbox).where(SmsOutbox.id > before).order_by(SmsOutbox.id)).all()
            messages = [(row.recipient_name or row.phone, row.text) for row in rows]
        engine.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    return {
        "tool": name,
        "arguments": arguments,
        "ok": bool(result.get("ok")),
        "error": result.get("error"),
        "recipients": len(messages),
        "recipient_names": [name for name, _ in messages[:PREVIEW_RECIPIENTS]],
        "sample_text": messages[0][1] if messages else None,
        "summary": result.get("summary"),
    }
