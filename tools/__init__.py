"""Typed tool functions over the grid simulator, usable without any model.

Each tool is `tool(args: <ArgsModel>, ctx: ToolContext) -> dict` and returns
{"ok": True, "summary": <Chinese reply>, ...figures}. call_tool validates the arguments
and returns {"ok": False, "error": <Chinese message>, "summary": <same>} instead of raising.
"""

from tools.context import ToolContext
from tools.errors import ToolError
from tools.registry import TOOLS, call_tool

__all__ = ["TOOLS", "ToolContext", "ToolError", "call_tool"]
