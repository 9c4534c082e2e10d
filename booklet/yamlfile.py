"""YAML as booklet reads it: safe, and a date that cannot exist is a located YAML error, not a crash."""

from __future__ import annotations

from typing import Any

import yaml


class Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader, whose dates fail as YAML errors with a line, not as a bare ValueError."""

    def construct_yaml_timestamp(self, node: yaml.Node) -> Any:  # type: ignore[override]
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # 2024-13-45 matches the date pattern but is no date
            raise yaml.constructor.ConstructorError(None, None, f"'{node.value}' is not a real date ({exc})", node.start_mark) from None


Loader.add_constructor("tag:yaml.org,2002:timestamp", Loader.construct_yaml_timestamp)


def load(text: str) -> Any:
    """Parse ``text``; malformed input raises ``yaml.YAMLError`` only."""
    return yaml.load(text, Loader=Loader)  # a SafeLoader: no arbitrary objects
