"""The error a tool raises for a user-level problem; call_tool turns it into a result."""


class ToolError(Exception):
    """Raised with a Chinese message for the dispatcher when a request cannot be served."""

    def __init__(self, message_zh: str):
        super().__init__(message_zh)
        self.message_zh = message_zh
