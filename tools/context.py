"""The context of every tool call: simulator engine, rule settings, chart folder and SMS gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from sim_grid import DRSettings, open_city
from sms_gateway import SimGateway, SmsGateway


@dataclass
class ToolContext:
    engine: Engine
    settings: DRSettings = field(default_factory=DRSettings)
    output_dir: Path | str | None = None  # charts go here; None: a "charts" folder next to the SQLite file
    gateway: SmsGateway = field(default_factory=SimGateway)  # where the send_* tools' messages go

    def __post_init__(self) -> None:
        if self.output_dir is not None:
            self.output_dir = Path(self.output_dir)

    @classmethod
    def from_path(
        cls,
        db_path: str | Path,
        settings: DRSettings | None = None,
        output_dir: str | Path | None = None,
        gateway: SmsGateway | None = None,
    ) -> ToolContext:
        """Open an existing city database file; the gateway defaults to the simulator's."""
        return cls(open_city(db_path), settings or DRSettings(), Path(output_dir) if output_dir else None, gateway or SimGateway())

    def session(self) -> Session:
        """Open a session whose objects stay readable after commit, for building the reply."""
        return Session(self.engine, expire_on_commit=False)

    def chart_dir(self) -> Path:
        """Return the chart folder, creating it on first use."""
        if self.output_dir is not None:
            folder = self.output_dir
        elif self.engine.url.database and self.engine.url.drivername.startswith("sqlite"):
            folder = Path(self.engine.url.database).resolve().parent / "charts"
        else:
            folder = Path.cwd() / "charts"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
