"""Prompt texts for the model, kept as `.txt` files beside this module and read on first use.

    from opencode.agent.prompts import load
    load("anthropic")   # the text of anthropic.txt, without surrounding whitespace

The texts are written for the model, in English, whatever language the user interface speaks.
"""

from __future__ import annotations

from functools import cache
from importlib import resources


@cache
def load(name: str) -> str:
    """The prompt `name` (file `<name>.txt`); raises FileNotFoundError for an unknown name."""
    return resources.files(__name__).joinpath(f"{name}.txt").read_text("utf-8").strip()


__all__ = ["load"]
