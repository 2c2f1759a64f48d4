"""YAML that people write (blueprints, inputs files, edit values, price tables), parsed safely.

`safe_load` alone refuses `!!python/...` tags but not aliases: a 2.4 KB document of nested aliases
expands to gigabytes ("billion laughs"). Nothing here needs an alias, so a document holding one is
refused before it is composed; anchors alone are harmless and allowed.
"""

from __future__ import annotations

from typing import Any

from movie_assets.errors import InvalidValue


class YamlError(InvalidValue):
    """Text that is not YAML we accept; the message says where and why, on one line."""


def load_yaml(text: str, where: str) -> Any:
    """The value of one YAML document; YamlError for bad YAML or an alias (`*name`)."""
    import yaml  # only for YAML people write

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        for token in yaml.scan(text, Loader=loader):
            if isinstance(token, yaml.AliasToken):
                mark = token.start_mark
                raise YamlError(f"{where}: aliases (*name) are not accepted (line {mark.line + 1})")
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise YamlError(f"{where}: not valid YAML ({' '.join(str(exc).split())[:300]})") from None
