#!/usr/bin/env python3
"""Renders a simulated scene (scene-NNNNNN_high.dcs + .truth.json) to a PNG for a person to look at.

  nii_render.py DIR/scene-000000 OUT.png [--findings FINDINGS.json]

Grey levels show high-energy transmission (dark = dense); ground-truth concealments are outlined in red,
findings (if given, a JSON list with a "region" {x0,y0,x1,y1}) in green. Needs pydicom, numpy, Pillow.
"""
import json
import sys
from pathlib import Path

import numpy as np
import pydicom
from PIL import Image, ImageDraw


def main():
    stem = Path(sys.argv[1])
    out = Path(sys.argv[2])
    ds = pydicom.dcmread(str(stem) + "_high.dcs")
    att = ds.pixel_array.astype(np.float64) * float(ds.RescaleSlope)
    grey = np.clip(np.exp(-att) ** 0.35 * 255.0, 0, 255).astype(np.uint8)
    img = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(img)
    truth = json.loads(Path(str(stem) + ".truth.json").read_text())
    for c in truth["concealments"]:
        r = c["region"]
        draw.rectangle([r["x0"], r["y0"], r["x1"], r["y1"]], outline=(255, 0, 0), width=3)
    if len(sys.argv) > 4 and sys.argv[3] == "--findings":
        for f in json.loads(Path(sys.argv[4]).read_text()):
            r = f["region"]
            draw.rectangle([r["x0"], r["y0"], r["x1"], r["y1"]], outline=(0, 200, 0), width=2)
    img.save(out)
    print(out, [c["kind"] for c in truth["concealments"]])


if __name__ == "__main__":
    main()
