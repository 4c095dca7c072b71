"""Shared fixtures: where the real recordings live, and small analytic signals."""

from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
FUSION_CSV = SHARED_DATA / "fusion" / "sensor_data.csv"


@pytest.fixture
def fusion_csv() -> Path:
    if not FUSION_CSV.exists():
        pytest.skip(f"real Fusion recording not found at {FUSION_CSV} (../shared/data is absent)")
    return FUSION_CSV
