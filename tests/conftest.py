"""Shared fixtures: the real tokenizer and model (converted once into the cache), the demo city."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tokenizer():
    from agent.base_model import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="session")
def shipped_policy():
    """The embedded base model with the shipped LoRA adapter."""
    from agent.policy import SHIPPED_ADAPTER, LocalPolicy

    if not (SHIPPED_ADAPTER / "adapter_config.json").is_file():
        pytest.fail(f"no shipped adapter in {SHIPPED_ADAPTER}; train one with `make finetune`")
    return LocalPolicy(adapter=str(SHIPPED_ADAPTER))


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A demo city built once per test session; tests copy it."""
    from sim_grid import create_city

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    create_city(path).dispose()
    return path


@pytest.fixture
def demo_db(demo_template, tmp_path) -> Path:
    path = tmp_path / "city.db"
    shutil.copyfile(demo_template, path)
    return path
