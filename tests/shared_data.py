"""Where ../shared (the labelled corpus and public corpora) is, and how to skip without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"


def shared_dir(*parts: str) -> Path:
    """A folder under ../shared; skips the test with a clear message where it is absent (fails under CI)."""
    path = SHARED.joinpath(*parts)
    if not path.is_dir():
        message = f"{path} is absent: these tests read ../shared beside the checkout"
        if os.environ.get("CI", "").lower() in ("true", "1", "yes"):
            pytest.fail(message + " (CI=true: required)", pytrace=False)
        pytest.skip(message)
    return path
