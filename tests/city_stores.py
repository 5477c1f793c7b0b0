"""City databases for tests, on SQLite files and on PostgreSQL.

The `city_store` fixture is parametrised over both databases, so a test that takes it runs
twice. The PostgreSQL cases need a server: DR_AGENT_TEST_PG_URL names a role that may create
databases (CREATEDB) and a database whose name prefixes the test databases, e.g.
postgresql+psycopg://dr_agent:dr_agent@127.0.0.1:5432/dr_agent_test. .ci/run starts a server
and sets it; without it the PostgreSQL cases are skipped.
"""

from __future__ import annotations

import itertools
import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy import Engine, make_url

from sim_grid import copy_city, create_city
from sim_grid.db import create_postgres_database, drop_postgres_database

PG_URL_ENV = "DR_AGENT_TEST_PG_URL"
BACKENDS = ("sqlite", "postgres")


class CityStore:
    """Creates and copies city databases on one backend; drops its PostgreSQL databases on close."""

    def __init__(self, backend: str, folder: Path, pg_url: str | None = None):
        self.backend = backend
        self.folder = folder
        self.pg_url = pg_url
        self.token = secrets.token_hex(3)
        self.counter = itertools.count()
        self.created: list[str] = []
        self.engines: list[Engine] = []

    def location(self, name: str) -> str:
        """Return a fresh file path or database URL; on PostgreSQL the database is not created yet."""
        name = f"{name}_{next(self.counter)}"
        if self.backend == "sqlite":
            return str(self.folder / f"{name}.db")
        url = make_url(self.pg_url)
        location = url.set(database=f"{url.database}_{self.token}_{name}").render_as_string(hide_password=False)
        self.created.append(location)
        return location

    def empty(self, name: str) -> str:
        """Return the location of a new empty database."""
        location = self.location(name)
        if self.backend == "postgres":
            create_postgres_database(location)
        return location

    def create(self, name: str, **kwargs) -> str:
        """Build a city (create_city keyword arguments) and return its location, with no open connections."""
        location = self.empty(name)
        create_city(location, **kwargs).dispose()
        return location

    def copy(self, source: str, name: str) -> Engine:
        """Copy a city; the source must have no open connections. The engine is disposed on close."""
        engine = copy_city(source, self.location(name))
        self.engines.append(engine)
        return engine

    def location_of(self, engine: Engine) -> str:
        """Return the location (file path or URL) that `engine` opened."""
        if self.backend == "sqlite":
            return engine.url.database
        return engine.url.render_as_string(hide_password=False)

    def close(self) -> None:
        for engine in self.engines:
            engine.dispose()  # a database with open sessions takes seconds longer to drop
        for location in self.created:
            drop_postgres_database(location)


@pytest.fixture(scope="session", params=BACKENDS)
def city_store(request, tmp_path_factory):
    if request.param == "postgres":
        pg_url = os.environ.get(PG_URL_ENV)
        if not pg_url:
            pytest.skip(f"{PG_URL_ENV} is not set: the PostgreSQL cases need a server URL (.ci/run starts one and sets it)")
        store = CityStore("postgres", tmp_path_factory.mktemp("postgres"), pg_url)
    else:
        store = CityStore("sqlite", tmp_path_factory.mktemp("sqlite"))
    yield store
    store.close()
