#!/usr/bin/env python3
"""NBIS WSQ reference for garita-wsq's interop tests and benchmark.

Uses the C extension `_wsq` of the PyPI package `wsq` (NIST NBIS libwsq; install with scripts/wsq-reference.sh).
Pixels cross the process boundary as raw 8-bit row-major files so no image library is needed on either side.

Commands (all print one JSON object on stdout):
  check                                   -> {"ok": true}            (exit 3 if the module is missing)
  decode IN.wsq OUT.raw                   -> {"width", "height", "ppi"}
  encode IN.raw WIDTH HEIGHT OUT.wsq [BITRATE [PPI]]
                                          -> {"bytes"}               (default 0.75 bpp, 500 ppi)
  to-raw IMAGE OUT.raw                    -> {"width", "height"}     (any image Pillow reads, as 8-bit gray)
  time-decode N FILE.wsq...               -> {"seconds": [best-of-N wall seconds per file],
                                              "cpu_seconds": [best-of-N thread CPU seconds per file]}
  time-encode N FILE.raw:W:H...           -> same

The PyPI wrapper's own `compress` hard-codes 0.75 bpp and 500 ppi, so `encode` calls NBIS's exported
`wsq_encode_mem` through ctypes instead, which takes any bitrate and resolution.
"""
import ctypes
import json
import sys
import time

try:
    import _wsq  # type: ignore
except ImportError:
    _wsq = None


def nbis_encode(raw, width, height, bitrate, ppi):
    """NBIS wsq_encode_mem(&odata, &olen, r_bitrate, idata, w, h, depth, ppi, comment_text)."""
    lib = ctypes.CDLL(_wsq.__file__)
    libc = ctypes.CDLL(None)
    fn = lib.wsq_encode_mem
    fn.restype = ctypes.c_int
    fn.argtypes = [ctypes.POINTER(ctypes.POINTER(ctypes.c_ubyte)), ctypes.POINTER(ctypes.c_int), ctypes.c_float,
                   ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_char_p]
    out = ctypes.POINTER(ctypes.c_ubyte)()
    out_len = ctypes.c_int(0)
    ret = fn(ctypes.byref(out), ctypes.byref(out_len), bitrate, raw, width, height, 8, ppi, None)
    if ret != 0:
        raise RuntimeError("wsq_encode_mem failed with %d" % ret)
    data = ctypes.string_at(out, out_len.value)
    libc.free(out)
    return data


def best_of(n, fn):
    """Best of n (wall seconds, thread CPU seconds)."""
    wall = cpu = float("inf")
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.thread_time()
        fn()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.thread_time() - c0)
    return wall, cpu


def main(argv):
    if _wsq is None:
        print(json.dumps({"ok": False, "error": "python module _wsq (PyPI wsq) not importable"}))
        return 3
    cmd = argv[1] if len(argv) > 1 else "check"
    if cmd == "check":
        print(json.dumps({"ok": True}))
    elif cmd == "decode":
        data = open(argv[2], "rb").read()
        buf, w, h, ppi = _wsq.decompress(data)
        open(argv[3], "wb").write(buf)
        print(json.dumps({"width": w, "height": h, "ppi": ppi}))
    elif cmd == "encode":
        raw = open(argv[2], "rb").read()
        w, h = int(argv[3]), int(argv[4])
        bitrate = float(argv[6]) if len(argv) > 6 else 0.75
        ppi = int(argv[7]) if len(argv) > 7 else 500
        out = nbis_encode(raw, w, h, bitrate, ppi)
        open(argv[5], "wb").write(out)
        print(json.dumps({"bytes": len(out)}))
    elif cmd == "to-raw":
        from PIL import Image

        im = Image.open(argv[2]).convert("L")
        open(argv[3], "wb").write(im.tobytes())
        print(json.dumps({"width": im.size[0], "height": im.size[1]}))
    elif cmd == "time-decode":
        n = int(argv[2])
        files = [open(p, "rb").read() for p in argv[3:]]
        times = [best_of(n, lambda d=d: _wsq.decompress(d)) for d in files]
        print(json.dumps({"seconds": [t[0] for t in times], "cpu_seconds": [t[1] for t in times]}))
    elif cmd == "time-encode":
        n = int(argv[2])
        times = []
        for spec in argv[3:]:
            path, w, h = spec.rsplit(":", 2)
            raw = open(path, "rb").read()
            times.append(best_of(n, lambda: _wsq.compress(raw, int(h), int(w), 0.75)))
        print(json.dumps({"seconds": [t[0] for t in times], "cpu_seconds": [t[1] for t in times]}))
    else:
        print(json.dumps({"ok": False, "error": "unknown command " + cmd}))
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
