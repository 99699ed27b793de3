"""The JSONC reader: comments, trailing commas, and syntax errors that point at the right place."""

from __future__ import annotations

import pytest

from opencode.config.errors import ConfigSyntaxError
from opencode.config.jsonc import comment_spans, loads


def test_comments_and_trailing_commas_are_accepted() -> None:
    text = """{
  // the model
  "model": "anthropic/claude", /* inline */
  "instructions": ["a.md", "b.md",],
  "provider": {
    "x": {"options": {"baseURL": "http://127.0.0.1:8080/v1",},},
  },
}
"""
    assert loads(text) == {
        "model": "anthropic/claude",
        "instructions": ["a.md", "b.md"],
        "provider": {"x": {"options": {"baseURL": "http://127.0.0.1:8080/v1"}}},
    }


def test_comment_markers_and_commas_inside_strings_survive() -> None:
    text = r'{"a": "x // not a comment", "b": "/* nor this */", "c": "1,]", "d": "quote \" // still string",}'
    assert loads(text) == {
        "a": "x // not a comment",
        "b": "/* nor this */",
        "c": "1,]",
        "d": 'quote " // still string',
    }


def test_empty_and_comment_only_text_is_an_empty_object() -> None:
    assert loads("") == {}
    assert loads("  // nothing here\n/* at all */\n") == {}


def test_byte_order_mark_is_ignored() -> None:
    assert loads('\ufeff{"a": 1}') == {"a": 1}


def test_missing_comma_in_object_names_line_and_column() -> None:
    text = '{\n  "model": "x",\n  "theme": "dark"\n  "share": "auto"\n}\n'
    with pytest.raises(ConfigSyntaxError) as caught:
        loads(text, "/p/opencode.json")
    assert str(caught.value) == "/p/opencode.json:4:3: expected ',' or '}'"
    assert (caught.value.line, caught.value.column) == (4, 3)
    assert caught.value.errors == [str(caught.value)]


def test_missing_comma_in_array() -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        loads('{"instructions": ["a" "b"]}', "f.json")
    assert str(caught.value) == "f.json:1:23: expected ',' or ']'"


def test_columns_count_in_the_original_text_after_comments() -> None:
    # The comment before the error is blanked, not removed, so the column is the one in the editor.
    with pytest.raises(ConfigSyntaxError) as caught:
        loads('{/* c */ "a": 1, "b" 2}', "f.json")
    assert str(caught.value) == "f.json:1:22: expected ':' after the key"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1', "f.json:1:8: expected ',' or '}'"),
        ('{"a": ', "f.json:1:7: unexpected end of file"),
        ("{'a': 1}", "f.json:1:2: expected a key in double quotes (single quotes are not JSON)"),
        ('{"a": True}', 'f.json:1:7: expected a value, found "True" (use true, false, null or a "string")'),
        ('{"a": NaN}', "f.json:1:7: NaN is not valid JSON"),
        ('{"a": "x\ny"}', "f.json:1:9: line break inside a string (write it as \\n)"),
        ('{"a": "C:\\path"}', "f.json:1:10: invalid escape in a string (a backslash must be written \\\\)"),
        ('{"a": "open', "f.json:1:7: unterminated string"),
        ('{"a": 1} {"b": 2}', "f.json:1:10: unexpected text after the end of the JSON document"),
        ('{"a": 1,\n /* never closed', "f.json:2:2: unterminated /* comment"),
        ('{"a": [,]}', "f.json:1:8: expected a value, found ','"),
    ],
)
def test_syntax_errors(text: str, expected: str) -> None:
    with pytest.raises(ConfigSyntaxError) as caught:
        loads(text, "f.json")
    assert str(caught.value) == expected


def test_comment_spans() -> None:
    text = '{"a": "//x", // one\n/* two */ "b": 1}'
    spans = comment_spans(text)
    assert [text[start:end] for start, end in spans] == ["// one", "/* two */"]
