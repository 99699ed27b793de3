"""The project's scripted model server: real HTTP on 127.0.0.1, the vendors' wire protocols."""

from opencode.testing.model_server.script import ErrorReply, Reasoning, Reply, ScriptUsage, Text, ToolCall
from opencode.testing.model_server.server import RecordedRequest, ScriptedModelServer

__all__ = [
    "ErrorReply",
    "Reasoning",
    "RecordedRequest",
    "Reply",
    "ScriptUsage",
    "ScriptedModelServer",
    "Text",
    "ToolCall",
]
