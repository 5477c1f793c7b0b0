"""Building simulated cities: the demo city, seeded random ones and province-sized bases."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlmodel import Session, SQLModel

from sim_grid.city.demo import build_demo_city
from sim_grid.city.province import build_province
from sim_grid.city.random_city import build_random_city
from sim_grid.db import copy_postgres_database, make_engine
from sim_grid.models import SimClock
from sim_grid.settings import DRSettings


def create_city(
    db_path_or_url: str | Path, seed: int | None = None, settings: DRSettings | None = None, overwrite: bool = False
) -> Engine:
    """Create a city database and return its engine.

    seed None builds the demo city; any other seed builds a random city from that seed.
    Raises FileExistsError when the SQLite file exists or the database already holds a city,
    unless overwrite is set.
    """
    settings = settings or DRSettings()
    engine = _empty_target(db_path_or_url, overwrite)
    with Session(engine) as session:
        if seed is None:
            build_demo_city(session, settings)
        else:
            build_random_city(session, seed, settings)
        session.commit()
    return engine


def create_province(
    db_path_or_url: str | Path,
    seed: int = 1,
    customers: int = 20000,
    history_days: int = 60,
    settings: DRSettings | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Engine:
    """Create a province-sized base (sim_grid.city.province) and return its engine.

    progress shows a progress bar on stderr. Raises FileExistsError like create_city.
    """
    if customers < 100 or history_days < 30:
        raise ValueError(f"a province needs at least 100 customers and 30 days of history, got {customers} and {history_days}")
    engine = _empty_target(db_path_or_url, overwrite)
    with Session(engine) as session:
        build_province(session, seed, customers, history_days, settings or DRSettings(), progress)
        session.commit()
    return engine


def _empty_target(db_path_or_url: str | Path, overwrite: bool) -> Engine:
    """Return an engine on an empty database: a new SQLite file or a database URL without tables.

    Raises FileExistsError when the file or the tables exist, unless overwrite is set; then the
    file is deleted or the simulator's tables are dropped.
    """
    text = str(db_path_or_url)
    if "://" not in text:
        if Path(text).exists():
            if not overwrite:
                raise FileExistsError(f"city database {text} already exists; pass overwrite=True to replace it")
            Path(text).unlink()
        return make_engine(text)

    engine = make_engine(text)
    if inspect(engine).has_table(SimClock.__tablename__):
        if not overwrite:
            engine.dispose()
            raise FileExistsError(f"database {engine.url.render_as_string(hide_password=True)} already holds a city; pass overwrite=True to replace it")
        SQLModel.metadata.drop_all(engine)
    return engine


def open_city(db_path_or_url: str | Path) -> Engine:
    """Return an engine for an existing city database.

    NOTE: there are no schema migrations. A database written before a table or column was
    added fails when that part is read, and has to be built again.
    """
    text = str(db_path_or_url)
    if "://" not in text and not Path(text).exists():
        raise FileNotFoundError(f"city database {text} not found")
    return make_engine(db_path_or_url)


def copy_city(source_path: str | Path, target_path: str | Path) -> Engine:
    """Copy a city and return an engine on the copy.

    SQLite files are copied; a PostgreSQL URL is copied into a new database on the same server
    (the source must have no open connections).
    """
    if "://" in str(source_path):
        copy_postgres_database(str(source_path), str(target_path))
        return make_engine(target_path)
    shutil.copyfile(source_path, target_path)
    return make_engine(target_path)
