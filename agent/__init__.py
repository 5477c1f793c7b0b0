"""The dispatcher agent: model wrapper, constrained decoding, LangGraph loop and CLI."""
