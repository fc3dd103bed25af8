"""Joining file names that come from JSON files to folders, without leaving the folder.

Dataset and result JSON files name frames (``<video>/<frame>.jpg``) that vistool
reads from, or writes into, a folder. Their schema checks already refuse names
that are not relative paths of plain components
(:func:`vistool.io.ytvis_schema.file_name_problem`); every join of such a name to a
folder also goes through :func:`safe_join` (files on disk) or :func:`zip_member`
(entries of an archive), so that a future format or a library caller cannot
reintroduce a path traversal.

Symbolic links: the folder itself is resolved first, so it may be a link (for
example ``JPEGImages -> /data/ytvis/valid/JPEGImages``); below it, a video folder
or a frame that is a link resolving outside the folder is refused, for reading
and for writing alike.
"""

from __future__ import annotations

import os
from pathlib import Path

from vistool.errors import UnsafePathError
from vistool.io.ytvis_schema import FILE_NAME_HINT, file_name_problem, quoted_name


def _check_name(name: object, where: str) -> str:
    """``name`` when it is a safe relative file name; else UnsafePathError naming ``where``."""
    problem = "is not a string" if not isinstance(name, str) else file_name_problem(name)
    if problem is not None:
        shown = quoted_name(name) if isinstance(name, str) else repr(name)
        raise UnsafePathError(f"{where}: refusing file name {shown}: {problem}; {FILE_NAME_HINT}")
    return name


def safe_join(root: str | os.PathLike, name: str) -> Path:
    """``root / name``, refused unless it stays inside ``root`` once resolved.

    ``name`` must follow the file-name rule (relative, plain components). The
    joined path is then resolved (symbolic links followed) and must lie inside
    the resolved ``root``: a link below ``root`` that leads out of it is refused,
    ``root`` itself may be a link. The file need not exist (exports create it).

    Args:
        root: the folder the name belongs to (a split's ``JPEGImages``, an export folder).
        name: a file name from a JSON file, ``/``-separated.

    Returns:
        ``Path(root) / name`` (not resolved, so messages show the user's path).

    Raises:
        UnsafePathError: the name is not a safe relative name, or resolves outside ``root``.
    """
    _check_name(name, str(root))
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(base, name))
    inside = base if base.endswith(os.sep) else base + os.sep
    if not target.startswith(inside):
        raise UnsafePathError(f"{os.path.join(root, name)}: resolves to {target}, outside {root} (a symbolic "
                              "link leads out of the folder); vistool reads and writes dataset files only inside "
                              "their folder: copy the frames into it instead of linking them")
    return Path(root) / name


def zip_member(*parts: str) -> str:
    """The archive entry ``parts[0]/parts[1]/...``, refused unless it is a safe relative name.

    Extracting the archive can then never write outside the extraction folder.

    Raises:
        UnsafePathError: a part (or the joined name) is empty, absolute, has ``..``, a backslash, a NUL...
    """
    name = "/".join(parts)
    return _check_name(name, "zip entry")
