"""What a run may read and write: every path or URL a run is given goes through :func:`confine_parameter`.

Whoever can start a run (a row of a CSV, a request file, the Prefect UI's run form) chooses its parameters,
and nothing more: not the worker's code, settings or other files. The trust model is written down in
``docs/safety.md``; this module enforces it, in one place:

* **Reads** (a CSV, an earlier results CSV, a document): a local path must lie inside a data root, a store
  URL under a storage root, an ``http(s)://`` URL goes through the network guard. In a deployment's run
  the data root is ``COMPLIANCE_INPUT_ROOT`` (default ``<project>/data``); at the command line, run by the
  user at their own prompt, anything the user can read.
* **Writes** (the results CSV, the catalog's state folder) also:

  - results are ``.csv`` files, and never replace a file or object that is not an earlier results CSV of
    ours (recognised by its header), wherever the run was started;
  - in a deployment's run, never a hidden path (``.env``, ``.git``) below the root, and never inside the
    project's code, its ``.venv``, ``.git`` or ``deployments/``, nor the running Python's installation
    (``sys.prefix``, site-packages), even when a root was set wide.

Each check is made on the path as written and again on the resolved path (a symbolic link inside a root that
points out of it, or into the project's code, is refused). :func:`confine` (:meth:`Location.within
<telnyx_compliance.locations.Location.within>`) is the path primitive the document checks use too (a CSV's
``doc_*`` cells, a request's documents).
"""

from __future__ import annotations

import os
import site
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from telnyx_compliance import storage
from telnyx_compliance._text import excerpt
from telnyx_compliance.locations import ConfinementError, Location

__all__ = [
    "DATA_FOLDER",
    "PROTECTED_FOLDERS",
    "ConfinementError",
    "Purpose",
    "RunScope",
    "confine",
    "confine_parameter",
]

#: What a parameter is used for; decides the rules it meets.
Purpose = Literal["csv", "earlier_results", "document", "results", "state"]
_WRITES: Final = frozenset({"results", "state"})
#: The default data root of a deployment's runs, inside the project folder.
DATA_FOLDER: Final = "data"
#: Folders of the project no run writes into, whatever the roots (plus every folder holding Python code).
PROTECTED_FOLDERS: Final = (".venv", ".git", "deployments", "configs", ".prefect", ".uv")
_RESULTS_SUFFIX: Final = ".csv"


def confine(root: Path, written: str | os.PathLike[str]) -> Path:
    """The resolved path of ``written`` inside ``root`` (:meth:`Location.within
    <telnyx_compliance.locations.Location.within>`); raises :class:`ConfinementError`."""
    return Location.parse(written).within(root)


def _python_installation() -> tuple[Path, ...]:
    """Where the running Python loads code from: a ``.pth`` or module written there runs at the next start."""
    places = {sys.prefix, sys.exec_prefix, sys.base_prefix, *site.getsitepackages()}
    user_site = site.getusersitepackages()
    if isinstance(user_site, str):
        places.add(user_site)
    return tuple(Path(place).resolve() for place in places if place)


def _code_folders(project: Path) -> tuple[Path, ...]:
    """The project's folders no run may write into: :data:`PROTECTED_FOLDERS` and every top-level folder
    holding Python code (the library, flows, tasks, tests, bench, scripts...)."""
    found = [project / name for name in PROTECTED_FOLDERS]
    if project.is_dir():
        for entry in project.iterdir():
            if entry.is_dir() and entry.name != DATA_FOLDER and any(entry.glob("*.py")):
                found.append(entry)
    return tuple(path.resolve() for path in found)


@dataclass(frozen=True)
class RunScope:
    """What the parameters of one run may name.

    ``confined`` (a deployment's run: from the UI, an API call or a schedule): local paths only inside
    :attr:`data_roots`, store URLs only under :attr:`storage_roots`, no hidden path below a root, nothing
    written under :attr:`protected`. Not confined (the command line, run by the user at their own prompt):
    any path the user can reach; the write rules on results files hold all the same.
    """

    confined: bool
    data_roots: tuple[Path, ...] = ()
    storage_roots: tuple[str, ...] = ()
    protected: tuple[Path, ...] = ()
    #: Store options (credentials) for reading an existing object's header.
    options: Mapping[str, Any] | None = field(default=None, repr=False)

    @classmethod
    def for_deployment(
        cls,
        project: Path,
        *,
        input_root: str | None = None,
        storage_roots: tuple[str, ...] = (),
        options: Mapping[str, Any] | None = None,
    ) -> RunScope:
        """The scope of a deployment's run on a worker whose checkout is ``project``: ``input_root``
        (``COMPLIANCE_INPUT_ROOT``; relative to the project; default ``<project>/data``) and the storage
        roots (``COMPLIANCE_STORAGE_ROOTS``)."""
        project = project.resolve()
        root = Path(input_root).expanduser() if input_root else project / DATA_FOLDER
        root = (project / root if not root.is_absolute() else root).resolve()
        return cls(
            confined=True,
            data_roots=(root,),
            storage_roots=tuple(storage_roots),
            protected=(*_code_folders(project), *_python_installation()),
            options=options,
        )

    @classmethod
    def for_command_line(cls, options: Mapping[str, Any] | None = None) -> RunScope:
        """The scope of a run the user started at their own prompt."""
        return cls(confined=False, options=options)

    @property
    def data_root(self) -> Path | None:
        """The first data root: where a deployment's run puts what it must keep locally."""
        return self.data_roots[0] if self.data_roots else None

    def with_options(self, options: Mapping[str, Any] | None) -> RunScope:
        return RunScope(self.confined, self.data_roots, self.storage_roots, self.protected, options)


def confine_parameter(
    value: str | Location,
    purpose: Purpose,
    scope: RunScope,
    *,
    name: str,
    is_ours: Callable[[str, Mapping[str, Any] | None], bool] | None = None,
) -> str:
    """The location ``value`` names (a resolved path, or the URL), if a run in ``scope`` may use it for
    ``purpose``; else :class:`ConfinementError` naming the parameter (``name``), the value (a short,
    redacted excerpt) and the rule.

    ``is_ours(location, options)`` tells whether an existing results file or object was written by this
    pipeline (default: its header is the results CSV's): a run never replaces anything else.
    """

    where = Location.parse(value)

    def refuse(reason: str) -> ConfinementError:
        return ConfinementError(f"{name} {excerpt(where.redacted, 80)!s}: {reason}")

    writes = purpose in _WRITES
    try:
        where.check(writable=writes)
    except storage.StorageError as error:
        raise ConfinementError(f"{name}: {error}") from None
    if not where.text.strip():
        raise refuse("empty")
    if not where.is_local:
        location = where.text
        if (
            where.is_store
            and scope.confined
            and not any(where.is_under(root) for root in scope.storage_roots)
        ):
            allowed = (
                ", ".join(Location.parse(root).redacted for root in scope.storage_roots) or "none configured"
            )
            raise refuse(
                f"outside the storage roots a deployment may use ({allowed}; COMPLIANCE_STORAGE_ROOTS "
                "sets them)"
            )
        # http(s): read only (check_location refused writing), the network guard decides on the host.
    else:
        location = str(_local(where, purpose, scope, refuse))
    if purpose == "results":
        _check_results_target(location, scope, refuse, is_ours)
    return location


def _local(
    value: Location, purpose: Purpose, scope: RunScope, refuse: Callable[[str], ConfinementError]
) -> Path:
    try:
        written = value.path
    except storage.StorageError as error:
        raise refuse(str(error)) from None
    if not scope.confined:
        return written.expanduser().resolve()
    roots = scope.data_roots
    if not roots:
        raise refuse("no data root is configured for a deployment's runs (COMPLIANCE_INPUT_ROOT)")
    missing = [root for root in roots if not root.is_dir()]
    if len(missing) == len(roots):
        raise refuse(
            f"the data root {roots[0]} does not exist: `make install` creates it, or set "
            "COMPLIANCE_INPUT_ROOT"
        )
    resolved: Path | None = None
    reason = ""
    for root in roots:
        try:
            resolved = confine(root, written)
        except ConfinementError as error:
            reason = str(error).replace("documents folder", "data root")
            continue
        # Hidden below the root, as written or as resolved (a visible link to a hidden file, or the reverse).
        base = root.resolve()
        lexical = Path(os.path.normpath(written if written.is_absolute() else base / written))
        below = (*resolved.relative_to(base).parts, *lexical.relative_to(base).parts)
        if any(part.startswith(".") for part in below):
            raise refuse("hidden files and folders are refused in a deployment's run")
        break
    if resolved is None:
        raise refuse(f"{reason} (COMPLIANCE_INPUT_ROOT sets it)")
    if purpose in _WRITES:
        for protected in scope.protected:
            if resolved == protected or resolved.is_relative_to(protected):
                raise refuse("inside the project's code, virtual environment or settings: refused")
    return resolved


def _check_results_target(
    location: str,
    scope: RunScope,
    refuse: Callable[[str], ConfinementError],
    is_ours: Callable[[str, Mapping[str, Any] | None], bool] | None,
) -> None:
    if Location.parse(location).is_local:
        path = Path(location)
        if path.is_dir():
            raise refuse("is a directory: name the results CSV file")
        if path.is_symlink() or (path.exists() and not path.is_file()):
            raise refuse("is not a regular file: refused")
    if not location.split("?", 1)[0].lower().endswith(_RESULTS_SUFFIX):
        raise refuse("a results file must be named *.csv")
    check = is_ours or _default_is_ours
    try:
        exists = storage.exists(location, scope.options)
    except storage.StorageError as error:
        raise refuse(str(error)) from None
    if exists and not check(location, scope.options):
        raise refuse(
            "exists and is not a results CSV of this pipeline: a run never replaces another file; "
            "name a new file"
        )


def _default_is_ours(location: str, options: Mapping[str, Any] | None) -> bool:
    from telnyx_compliance.onboarding.results_csv import is_results_file

    return is_results_file(location, options)
