"""Audit trail of actions proposed to the dispatcher: what was proposed, decided and sent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine
from sqlmodel import Field, Session, SQLModel, select


class AuditEntry(SQLModel, table=True):
    """One proposed side effect and its outcome."""

    id: int | None = Field(default=None, primary_key=True)
    recorded_at: datetime = Field(index=True)  # wall-clock UTC time of the decision, not the simulator clock
    actor: str  # who asked: the operating-system user or the API caller
    thread_id: str = Field(index=True)
    request_text: str  # the dispatcher's message that led to the proposal
    tool: str
    arguments_json: str
    proposal: str  # what the dispatcher was shown
    decision: str  # approved, rejected, auto (nothing to send)
    sent_count: int = 0


def ensure_audit_table(engine: Engine) -> None:
    """Create the audit table in databases built before it existed."""
    AuditEntry.__table__.create(engine, checkfirst=True)


def record_audit(engine: Engine, entry: AuditEntry) -> AuditEntry:
    ensure_audit_table(engine)
    with Session(engine, expire_on_commit=False) as session:
        session.add(entry)
        session.commit()
    return entry


def list_audit(engine: Engine, limit: int = 50) -> list[AuditEntry]:
    """Return the newest ``limit`` entries, oldest first."""
    ensure_audit_table(engine)
    with Session(engine) as session:
        rows = session.exec(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)).all()
    return list(reversed(rows))
