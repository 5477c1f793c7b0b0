"""Engine creation, curve encoding and seeded random generators."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from sqlalchemy import Engine, event
from sqlmodel import create_engine

CURVE_DTYPE = np.dtype("<f4")


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


def encode_curve(values: np.ndarray) -> bytes:
    return np.asarray(values, dtype=CURVE_DTYPE).tobytes()


def decode_curve(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype=CURVE_DTYPE).astype(np.float64)


def seeded_rng(*parts: object) -> np.random.Generator:
    """Return a generator whose stream depends only on the given parts (stable across runs)."""
    digest = hashlib.sha256("|".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))
