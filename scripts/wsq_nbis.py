#!/usr/bin/env python3
"""NBIS WSQ reference for garita-wsq's interop tests and benchmark.

Uses the C extension `_wsq` of the PyPI package `wsq` (NIST NBIS libwsq; install with scripts/wsq-reference.sh).
Pixels cross the process boundary as raw 8-bit row-major files so no image library is needed on either side.

Commands (all print one JSON object on stdout):
  check                                   -> {"ok": true}            (exit 3 if the module is missing)
  decode IN.wsq OUT.raw                   -> {"width", "height", "ppi"}
  encode IN.raw WIDTH HEIGHT OUT.wsq      -> {"bytes"}               (NBIS via PyPI wsq: 0.75 bpp, 500 ppi, fixed)
  time-decode N FILE.wsq...               -> {"seconds": [best-of-N wall seconds per file],
                                              "cpu_seconds": [best-of-N thread CPU seconds per file]}
  time-encode N FILE.raw:W:H...           -> same

Note: the PyPI wrapper hard-codes the bitrate to 0.75 bpp and 500 ppi, whatever it is passed.
"""
import json
import sys
import time

try:
    import _wsq  # type: ignore
except ImportError:
    _wsq = None


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
        out = _wsq.compress(raw, h, w, 0.75)
        open(argv[5], "wb").write(out)
        print(json.dumps({"bytes": len(out)}))
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
