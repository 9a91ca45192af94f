"""Writing outputs so that a failure leaves the earlier version exactly as it was.

:func:`atomic_file` gives a temporary path next to the destination and renames it over the
destination only when the block succeeds (results NetCDF, the PDF report);
:func:`swap_folder` puts a completed folder in the place of an existing one (a run's
``results/``, a rebuilt data set). Renames stay in one file system, so readers see the old or
the new version, never a part of one. Outputs are readable by others: files 0644, folders 0755.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FILE_MODE = 0o644
FOLDER_MODE = 0o755


@contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success make it :data:`FILE_MODE` and
    rename it to ``path``; on any exception remove it (``path`` untouched)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, FILE_MODE)        # mkstemp makes 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def swap_folder(tmp: Path, dest: Path) -> None:
    """Rename the completed folder ``tmp`` to ``dest`` (made :data:`FOLDER_MODE`), replacing and
    then deleting any existing ``dest``; if the second rename fails the old ``dest`` is put
    back."""
    os.chmod(tmp, FOLDER_MODE)          # mkdtemp makes 0700
    if not dest.exists():
        tmp.rename(dest)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.old-", dir=dest.parent))
    old.rmdir()
    dest.rename(old)
    try:
        tmp.rename(dest)
    except BaseException:
        old.rename(dest)
        raise
    shutil.rmtree(old)
