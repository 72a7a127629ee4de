"""What an execution shows besides stdout: display() with rich reprs, the images the code saved
and the figures it left open (part of the worker's source).
"""

import io
import os
import sys
import time

from agentcode.sandbox.local.worker_errors import _restore_sources
from agentcode.sandbox.local.worker_state import _State


def _b64(data):
    import base64

    return base64.b64encode(data).decode("ascii")


def _rich(value, limit, main=True):
    """The value's reprs, as a notebook shows them: text always, and the rich ones it has."""
    out = {"main": main, "text": None, "html": None, "png": None}
    text = repr(value)
    out["text"] = text if len(text) <= limit else text[:limit] + "..."
    if isinstance(value, type):
        return out
    for key in ("html", "markdown", "svg"):
        result = _call_repr(value, key)
        if isinstance(result, str):
            out[key] = result[:limit]
    for key in ("png", "jpeg"):
        result = _call_repr(value, key)
        if isinstance(result, (bytes, bytearray)):
            out[key] = _b64(bytes(result))
    if out["png"] is None and callable(getattr(value, "savefig", None)) and hasattr(
            value, "canvas"):
        out["png"] = _figure_png(value)  # a matplotlib Figure, as a notebook shows it
    return out


def _call_repr(value, key):
    method = getattr(value, f"_repr_{key}_", None)
    result = method() if callable(method) else None
    # IPython lets a _repr_*_ return (data, metadata).
    return result[0] if isinstance(result, tuple) and result else result


def _figure_png(figure):
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure._agentcode_saved = True  # shown once: not collected again as an open figure
    return _b64(buffer.getvalue())


def display(*objs):
    """Show each object in the results, in order, as a notebook's display() does. Past the
    output cap (a display() in a long loop) objects are dropped and counted on stderr."""
    for obj in objs:
        if _State.shown is None:
            print(repr(obj))
        elif _State.shown_bytes > _State.output_bytes:
            _State.dropped += 1
        else:
            out = _rich(obj, _State.output_bytes, main=False)
            _State.shown_bytes += sum(len(v) for v in out.values() if isinstance(v, str))
            _State.shown.append((time.time_ns(), out))


_IMAGES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg"}
_SUFFIXES = tuple(_IMAGES)
_SCAN_ENTRIES = 2000  # a walk of the work dir looks at no more than this many names


def _images():
    """{path: (mtime_ns, size)} of the image files in the work dir (regular files only)."""
    found, seen = {}, 0
    root = _State.workdir.rstrip("/") + "/"
    pending = [root]
    while pending and seen <= _SCAN_ENTRIES:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    seen += 1
                    if entry.is_dir(follow_symlinks=False):
                        if not entry.name.startswith("."):
                            pending.append(entry.path)
                    elif entry.name.lower().endswith(_SUFFIXES) and entry.is_file(
                            follow_symlinks=False):  # never a link
                        info = entry.stat(follow_symlinks=False)
                        found[entry.path[len(root):]] = (info.st_mtime_ns, info.st_size)
        except OSError:
            continue
    return found


def _saved_images(before):
    """(mtime_ns, output) for each image the code wrote or changed, named by its path."""
    shown = []
    for path, (mtime, size) in _images().items():
        if before.get(path) == (mtime, size) or size > _State.output_bytes:
            continue
        kind = _IMAGES[os.path.splitext(path)[1].lower()]
        try:
            with open(os.path.join(_State.workdir, path), "rb") as handle:
                data = handle.read(_State.output_bytes)
        except OSError:
            continue
        out = {"main": False, "text": None, "html": None, "png": None, "name": path}
        out[kind] = data.decode("utf-8", "replace") if kind == "svg" else _b64(data)
        shown.append((mtime, out))
    return shown


class _ImportWatch:
    """A meta path finder that adjusts two modules as they are first imported.

    ``matplotlib.figure``: ``Figure.savefig`` is wrapped to set a flag on the figure, so
    `_figures` does not hand back a second copy of a chart already in a file. ``linecache``: it
    gets the sources of the executions so far (`_remember_source`).
    """

    def find_spec(self, name, path=None, target=None):
        adjust = _ADJUST.get(name)
        if adjust is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        original = getattr(loader, "exec_module", None)
        if original is None:
            return spec

        def exec_module(module):
            original(module)
            adjust(module)

        loader.exec_module = exec_module
        return spec


def _watch_savefig(module):
    figure_class = getattr(module, "Figure", None)
    savefig = getattr(figure_class, "savefig", None)
    if savefig is None:
        return

    def watched_savefig(self, *args, **kwargs):
        result = savefig(self, *args, **kwargs)
        self._agentcode_saved = True
        return result

    watched_savefig.__wrapped__ = savefig
    watched_savefig.__doc__ = savefig.__doc__
    figure_class.savefig = watched_savefig


_ADJUST = {"matplotlib.figure": _watch_savefig, "linecache": _restore_sources}


def _figures():
    """PNGs of the open matplotlib figures the code did not save itself, then close them all."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is None:
        return []
    outputs = []
    try:
        for number in plt.get_fignums():
            figure = plt.figure(number)
            if getattr(figure, "_agentcode_saved", False):
                continue
            buffer = io.BytesIO()
            figure.savefig(buffer, format="png")
            png = _b64(buffer.getvalue())
            outputs.append({"main": False, "text": None, "html": None, "png": png})
    finally:
        plt.close("all")
    return outputs


