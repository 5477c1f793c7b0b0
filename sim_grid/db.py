"""Engine creation, curve encoding and seeded random generators."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, event, make_url
from sqlalchemy.exc import DBAPIError
from sqlmodel import create_engine

CURVE_DTYPE = np.dtype("<f4")
TOTAL_DTYPE = np.dtype("<f8")  # EventLoadTotal arrays


def database_url(db_path_or_url: str | Path) -> str:
    text = str(db_path_or_url)
    return text if "://" in text else f"sqlite:///{text}"


def make_engine(db_path_or_url: str | Path) -> Engine:
    """Create an engine; SQLite connections get foreign keys on."""
    engine = create_engine(database_url(db_path_or_url))
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _enable_foreign_keys(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

    return engine


def _server_engine(url: str) -> tuple[Engine, str]:
    """Return an AUTOCOMMIT engine on the server's maintenance database and the named database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise ValueError(f"expected a postgresql:// URL, got {parsed.render_as_string(hide_password=True)}")
    server = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    return server, parsed.database


def copy_postgres_database(source_url: str, target_url: str) -> None:
    """Create the target database as a copy of the source with CREATE DATABASE ... TEMPLATE.

    Both databases must be on one server, and the source must have no open connections (dispose
    its engines first). PostgreSQL raises an error when the target already exists. From
    PostgreSQL 15 on, the files are copied directly (STRATEGY FILE_COPY) rather than through
    the write-ahead log, which is faster for the small databases of tests and demos.
    """
    server, source = _server_engine(source_url)
    target = make_url(target_url).database
    quote = server.dialect.identifier_preparer.quote
    try:
        with server.connect() as connection:
            strategy = " STRATEGY FILE_COPY" if connection.dialect.server_version_info >= (15,) else ""
            connection.exec_driver_sql(f"CREATE DATABASE {quote(target)} TEMPLATE {quote(source)}{strategy}")
    finally:
        server.dispose()


def create_postgres_database(url: str) -> None:
    """Create the empty database that `url` names."""
    server, name = _server_engine(url)
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {server.dialect.identifier_preparer.quote(name)}")
    finally:
        server.dispose()


def drop_postgres_database(url: str) -> None:
    """Drop the database that `url` names, if it exists.

    A plain DROP waits for autovacuum workers to leave. When sessions are still connected
    (SQLSTATE 55006, object in use), it is retried WITH (FORCE), which closes the sessions
    that this role may end (PostgreSQL 13 or later).
    """
    server, name = _server_engine(url)
    statement = f"DROP DATABASE IF EXISTS {server.dialect.identifier_preparer.quote(name)}"
    try:
        with server.connect() as connection:
            try:
                connection.exec_driver_sql(statement)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) != "55006":
                    raise
                connection.exec_driver_sql(statement + " WITH (FORCE)")
    finally:
        server.dispose()


def encode_curve(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=CURVE_DTYPE).tobytes()


def decode_curve(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=CURVE_DTYPE).astype(np.float64)


def encode_total(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=TOTAL_DTYPE).tobytes()


def decode_total(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=TOTAL_DTYPE).copy()


def seeded_rng(*parts: object) -> np.random.Generator:
    """Return a generator whose stream depends only on the given parts (stable across runs)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
