"""The tools' descriptions for the model, one `.txt` per tool, read with importlib.resources."""
