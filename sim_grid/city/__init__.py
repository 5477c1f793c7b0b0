"""Building simulated cities: the demo city and seeded random ones."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from sim_grid.city.demo import build_demo_city
from sim_grid.city.random_city import build_random_city
from sim_grid.db import make_engine
from sim_grid.settings import DRSettings


def create_city(
    db_path_or_url: str | Path, seed: int | None = None, settings: DRSettings | None = None, overwrite: bool = False
) -> Engine:
    """Create a city database and return its engine.

    seed None builds the demo city; any other seed builds a random city from that seed.
    Raises FileExistsError when the SQLite file exists, unless overwrite is set.
    """
    settings = settings or DRSettings()
    text = str(db_path_or_url)
    if "://" not in text and Path(text).exists():
        if not overwrite:
            raise FileExistsError(f"city database {text} already exists; pass overwrite=True to replace it")
        Path(text).unlink()

    engine = make_engine(db_path_or_url)
    with Session(engine) as session:
        if seed is None:
            build_demo_city(session, settings)
        else:
            build_random_city(session, seed, settings)
        session.commit()
    return engine


def open_city(db_path_or_url: str | Path) -> Engine:
    """Return an engine for an existing city database."""
    text = str(db_path_or_url)
    if "://" not in text and not Path(text).exists():
        raise FileNotFoundError(f"city database {text} not found")
    return make_engine(db_path_or_url)


def copy_city(source_path: str | Path, target_path: str | Path) -> Engine:
    """Copy a SQLite city file and return an engine on the copy."""
    shutil.copyfile(source_path, target_path)
    return make_engine(target_path)
