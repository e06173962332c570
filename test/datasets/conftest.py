"""Fixtures of the bag <-> dataset tests."""

import pytest
from synthetic_bag import SyntheticBag, mapping_dict, write_synthetic_bag

from lerobot_ros.features.mapping import parse_mapping


@pytest.fixture(scope="session")
def synthetic_bag(tmp_path_factory) -> SyntheticBag:
    return write_synthetic_bag(tmp_path_factory.mktemp("bags") / "synthetic")


@pytest.fixture
def mapping():
    return parse_mapping(mapping_dict(), "test-mapping")
