"""truncate: the one place output is capped, with the full text saved for paging on."""

from __future__ import annotations

from pathlib import Path

from opencode.tool.truncate import MAX_BYTES, MAX_LINES, default_save_dir, truncate


def numbered(count: int) -> str:
    return "\n".join(f"line {i}" for i in range(1, count + 1))


def fits(text: str, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES) -> bool:
    return len(text.split("\n")) <= max_lines and len(text.encode()) <= max_bytes


def test_short_text_is_returned_as_is(tmp_path: Path) -> None:
    result = truncate("hello\nworld\n", save_dir=tmp_path / "out")
    assert result.text == "hello\nworld\n"
    assert not result.truncated
    assert result.saved is None
    assert not (tmp_path / "out").exists()


def test_too_many_lines_keeps_the_head_and_saves_everything(tmp_path: Path) -> None:
    text = numbered(3000)
    result = truncate(text, save_dir=tmp_path, name="out.txt")
    assert result.truncated
    assert result.saved == tmp_path / "out.txt"
    assert result.saved.read_text() == text
    assert result.text.startswith("line 1\nline 2\n")
    assert "line 3000" not in result.text
    assert fits(result.text)
    note = result.text.rsplit("\n\n", 1)[1]
    shown = len(result.text.rsplit("\n\n", 1)[0].split("\n"))
    assert f"showing the first {shown} of 3000 lines" in note
    assert str(tmp_path / "out.txt") in note
    assert f"offset={shown + 1}" in note
    assert "grep" in note


def test_too_many_bytes_is_cut_on_a_line_boundary(tmp_path: Path) -> None:
    text = "\n".join("x" * 999 for _ in range(200))  # 200 KB in 200 lines
    result = truncate(text, save_dir=tmp_path)
    assert result.truncated
    assert fits(result.text)
    body = result.text.rsplit("\n\n", 1)[0]
    assert all(line == "x" * 999 for line in body.split("\n"))


def test_a_single_huge_line_is_cut_inside_the_line(tmp_path: Path) -> None:
    result = truncate("é" * 100_000, save_dir=tmp_path, max_bytes=1000)
    assert result.truncated
    assert len(result.text.encode()) <= 1000
    assert result.text.startswith("ééé")
    assert "\ufffd" not in result.text


def test_tail_keeps_the_end_and_puts_the_note_first(tmp_path: Path) -> None:
    result = truncate(numbered(5000), save_dir=tmp_path, direction="tail", max_lines=100)
    assert result.truncated
    assert result.text.startswith("[Output truncated: showing the last")
    assert result.text.endswith("line 5000")
    assert "line 1\n" not in result.text
    assert fits(result.text, max_lines=100)


def test_truncating_twice_is_truncating_once(tmp_path: Path) -> None:
    once = truncate(numbered(10_000), save_dir=tmp_path)
    again = truncate(once.text, save_dir=tmp_path)
    assert not again.truncated
    assert again.text == once.text


def test_an_unwritable_save_dir_still_caps_and_says_so(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = truncate(numbered(3000), save_dir=blocker)
    assert result.truncated
    assert result.saved is None
    assert "could not be saved" in result.text
    assert fits(result.text)


def test_default_save_dir_is_under_the_xdg_data_dir(isolated_env: Path) -> None:
    result = truncate(numbered(3000))
    assert result.saved is not None
    assert result.saved.parent == default_save_dir()
    assert result.saved.is_relative_to(isolated_env)
    assert default_save_dir(Path("/x")) == Path("/x/tool-output")
