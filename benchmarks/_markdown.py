"""Marked sections of a markdown file, each rewritten by the benchmark that owns it.

A benchmark records its figures between `<!-- bench:NAME:start -->` and
`<!-- bench:NAME:end -->` in docs/BENCHMARKS.md, so a rerun replaces its own figures and
nothing else: the prose around the markers, and every other benchmark's section, stay as
written. Shared here so each benchmark script does not grow its own copy of the splicing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["read_section", "replace_section", "run_stamp"]


def read_section(path: Path, name: str) -> str:
    """The text between the section's markers, empty when the file or the section is absent.

    For a benchmark that keeps several blocks in its section and replaces only some of them.
    """
    text = path.read_text() if path.exists() else ""
    span = _inside(text, name)
    return "" if span is None else text[span[0] : span[1]]


def replace_section(path: Path, name: str, body: str) -> None:
    """Put `body` between the section's markers, keeping everything outside them.

    A file without the section gets it appended at its end; a missing file is created.
    """
    text = path.read_text() if path.exists() else ""
    start_mark, end_mark = _markers(name)
    content = body.strip("\n")
    inner = f"\n{content}\n" if content else "\n"
    span = _inside(text, name)
    if span is None:
        lead = text.rstrip("\n") + "\n\n" if text.strip() else ""
        text = f"{lead}{start_mark}{inner}{end_mark}\n"
    else:
        text = text[: span[0]] + inner + text[span[1] :]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def run_stamp(command: str) -> str:
    """The line heading a section's figures: the command, when, and how busy the machine was."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return f"`{command}`; {when}; nproc {os.cpu_count()}, load average {load}."


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"


def _inside(text: str, name: str) -> tuple[int, int] | None:
    """Where the section's body starts and ends in `text`; None when it has no such section.

    A start marker without its end marker is an error rather than a missing section:
    appending a second section would leave the file with two start markers.
    """
    start_mark, end_mark = _markers(name)
    start = text.find(start_mark)
    if start < 0:
        return None
    end = text.find(end_mark, start + len(start_mark))
    if end < 0:
        raise ValueError(f"{start_mark} has no {end_mark} after it")
    return start + len(start_mark), end
