"""Finding imported modules on disk, the way a type checker does, for the engine's Loader hook.

Search order for `import a.b` / `from a.b import C`: the importing file's folder, the workspace
roots, then the interpreter's site-packages. Relative imports (`from ..ops import X`) resolve
against the importing file. torch itself is never read: the rules model it.
"""

from __future__ import annotations

import functools
import os
import site
import stat
import sysconfig
import time
from pathlib import Path
from typing import Iterable, Optional

from shapels.sources import read_source

MAX_FILE_BYTES = 2_000_000
RACY_NS = 2_000_000_000  # a file changed this recently may change again without its stat showing it


def site_packages() -> list:
    paths = {sysconfig.get_paths().get("purelib"), sysconfig.get_paths().get("platlib")}
    try:
        paths.update(site.getsitepackages())
    except AttributeError:  # virtualenvs of old
        pass
    return [Path(p) for p in paths if p and Path(p).is_dir()]


def package_root(path: Path) -> Path:
    """The folder an absolute import of this file's own package resolves from: the parent of the
    outermost folder (walking up) that has an __init__.py."""
    folder = path.parent
    while (folder / "__init__.py").is_file() and folder.parent != folder:
        folder = folder.parent
    return folder


def ancestor_roots(path: Path, top: str) -> list:
    """For `import torchvision.ops` from inside a folder named torchvision (a namespace package, with
    no __init__.py): that folder's parent."""
    return [folder.parent for folder in path.parents if folder.name == top][:1]


# What a question's folders are, worked out from its importer's path alone (no file is looked at), once
# per path: a transformers modeling file's analysis asks ~350 questions, mostly of the same ~50 importers,
# and building their Paths again cost more than the stats that follow. Up to a size a server would not notice.
MAX_REMEMBERED = 65536


@functools.lru_cache(maxsize=MAX_REMEMBERED)
def _path(text: str) -> Path:
    return Path(text)


@functools.lru_cache(maxsize=MAX_REMEMBERED)
def _relative_base(importer_path: str, dots: int) -> Path:
    """The folder of `from .. import x` (dots=2) in the file at `importer_path`."""
    base = _path(importer_path).parent
    for _ in range(dots - 1):
        base = base.parent
    return base


@functools.lru_cache(maxsize=MAX_REMEMBERED)
def _ancestor_roots(importer_path: str, top: str) -> tuple:
    return tuple(ancestor_roots(_path(importer_path), top))


class FileLoader:
    def __init__(self, roots: Iterable = (), include_site_packages: bool = True):
        self.roots = [Path(r) for r in roots]
        self.packages = site_packages() if include_site_packages else []
        self._cache: dict = {}  # path -> (its stat when read, (path, text)): files that had settled

    def __call__(self, importer_path: str, dotted: str) -> Optional[tuple]:
        dots = len(dotted) - len(dotted.lstrip("."))
        parts = [p for p in dotted[dots:].split(".") if p]
        importer = _path(importer_path)
        if dots:
            bases = [_relative_base(importer_path, dots)]
        else:
            if not parts:
                return None
            bases = [importer.parent, package_root(importer), *_ancestor_roots(importer_path, parts[0]),
                     *self.roots, *self.packages]
        # os.stat on strings, not pathlib: a file asks for ~20 modules, each probing ~10 candidates.
        # The importer itself is told apart by its inode (as os.path.samefile does), not by resolving
        # every candidate's path.
        try:
            own = os.stat(importer_path)
            own_id = (own.st_dev, own.st_ino)
        except OSError:
            own_id = None
        relative = os.path.join(*parts) if parts else ""
        for base in bases:
            target = os.path.join(str(base), relative) if parts else str(base)
            for candidate in ((target + ".py") if parts else None, os.path.join(target, "__init__.py")):
                if candidate is None:
                    continue
                try:
                    found = os.stat(candidate)
                except OSError:
                    continue
                if stat.S_ISREG(found.st_mode) and (found.st_dev, found.st_ino) != own_id:
                    return self._read(_path(candidate), found)
        return None

    def _read(self, path: Path, found: os.stat_result) -> Optional[tuple]:
        """(path, text), read again unless the file's stat is the one it had when a settled read kept it.

        A loader lives for many analyses (a worker's files, the server's edits). Its stat says whether a
        file changed since it was kept, except within one tick of the file system's clock (a few ms on
        Linux, 2 s on FAT): an edit of the same size in the tick of the last one keeps the mtime. So,
        as git does with its index, a file that changed less than RACY_NS before it was read is not
        kept, and is read again at each question until it has settled; the ctime is part of the key so
        that an edit that restores the old mtime (`cp -p`, `touch -r`) is seen too."""
        if found.st_size > MAX_FILE_BYTES:
            return None
        name = str(path)
        stamp = (found.st_mtime_ns, found.st_ctime_ns, found.st_size, found.st_ino, found.st_dev)
        kept = self._cache.get(name)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        read_at = time.time_ns()
        answer = (name, read_source(path))
        if max(found.st_mtime_ns, found.st_ctime_ns) < read_at - RACY_NS:
            self._cache[name] = (stamp, answer)
        else:
            self._cache.pop(name, None)
        return answer
