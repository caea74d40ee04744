"""Finding and wording the config problems that pydantic and PyYAML let pass or leave
vague: a key written twice (YAML keeps the last one silently) and an unknown key, to
which the closest known key is suggested.

Both answer with a key path (``models.0.window_s``) so the message of
:mod:`streams.config.loading` can name the file, the key and the problem on one line.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Iterator, Sequence

import yaml
from pydantic import BaseModel

__all__ = ["duplicate_keys", "key_path", "suggest_key"]


def key_path(loc: Sequence[object]) -> str:
    """``("models", 0, "window_s")`` as ``models.0.window_s``, the form every message uses."""
    return ".".join(str(part) for part in loc) or "(top level)"


def duplicate_keys(node: yaml.Node | None, loc: tuple[object, ...] = ()) -> Iterator[str]:
    """Each key written twice in one mapping of the composed YAML ``node``, as
    ``KEY PATH: duplicate key (lines A and B)``, in document order."""
    if isinstance(node, yaml.MappingNode):
        first_line: dict[object, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None and key in first_line:
                where = key_path((*loc, key))
                yield f"{where}: duplicate key (lines {first_line[key]} and {line})"
            elif key is not None:
                first_line[key] = line
            yield from duplicate_keys(value_node, (*loc, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from duplicate_keys(item, (*loc, index))


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The pydantic model an annotation holds, through ``list[...]``, ``dict[str, ...]``
    and ``X | None``; None when it holds none."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return None
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _model_at(root: type[BaseModel], loc: Sequence[object]) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (list indexes and dict keys skipped)."""
    model: type[BaseModel] | None = root
    for part in loc:
        if model is None:
            return None
        field = model.model_fields.get(str(part)) if isinstance(part, str) else None
        if field is not None:
            model = _model_in(field.annotation)
    return model


def suggest_key(root: type[BaseModel], loc: Sequence[object]) -> str:
    """`` (did you mean 'window_s'?)`` for the unknown key at the end of ``loc``, or the
    known keys there when none is close; empty when the place has no model."""
    if not loc:
        return ""
    model = _model_at(root, loc[:-1])
    if model is None:
        return ""
    known = sorted(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.6)
    if close:
        return f" (did you mean {close[0]!r}?)"
    return f" (known keys: {', '.join(known)})"
