#!/usr/bin/env python3
"""Independent reading of the shared DICOS V03 files with pydicom.

Produces the expected-values table that garita-nii's integration tests compare against
(crates/nii/tests/data/dicos_expected.json): header fields, pixel statistics of the decoded
frames (pylibjpeg decodes the JPEG-lossless ones), and the threat items of each TDR.

  nii_pydicom_check.py DATA_DIR --out FILE     write the table
  nii_pydicom_check.py DATA_DIR --check FILE   recompute and compare with a frozen table (exit 1 on mismatch)
"""
import argparse
import json
import sys
import warnings
from pathlib import Path

import pydicom

warnings.filterwarnings("ignore")

THREAT_SEQ = (0x4010, 0x1011)
PTO_ID = (0x4010, 0x1010)
PTO_REPR_SEQ = (0x4010, 0x1037)
ROI_VOXEL_SEQ = (0x4010, 0x1001)
ROI_BASE = (0x4010, 0x1004)
ROI_EXTENTS = (0x4010, 0x1005)
BOUNDING_POLYGON = (0x4010, 0x101D)
ASSESSMENT_SEQ = (0x4010, 0x1038)
THREAT_CATEGORY = (0x4010, 0x1012)
THREAT_CATEGORY_DESC = (0x4010, 0x1013)
ASSESSMENT_FLAG = (0x4010, 0x1015)
ASSESSMENT_PROB = (0x4010, 0x1016)
ALARM_DECISION = (0x4010, 0x1031)


def floats(value):
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return [float(value)]
    return [float(v) for v in value]


def get(ds, tag):
    return ds[tag].value if tag in ds else None


def threats(ds):
    out = []
    for item in get(ds, THREAT_SEQ) or []:
        entry = {"id": int(get(item, PTO_ID)), "roi_base": None, "roi_extents": None, "bounding_polygon": None,
                 "referenced_instance_uids": []}
        for rep in get(item, PTO_REPR_SEQ) or []:
            for ref in get(rep, (0x0008, 0x114A)) or []:
                entry["referenced_instance_uids"].append(str(ref.ReferencedSOPInstanceUID))
            for roi in get(rep, ROI_VOXEL_SEQ) or []:
                entry["roi_base"] = floats(get(roi, ROI_BASE))
                entry["roi_extents"] = floats(get(roi, ROI_EXTENTS))
            entry["bounding_polygon"] = floats(get(rep, BOUNDING_POLYGON))
        for ass in (get(item, ASSESSMENT_SEQ) or [])[:1]:
            entry["category"] = get(ass, THREAT_CATEGORY)
            entry["category_description"] = get(ass, THREAT_CATEGORY_DESC)
            entry["assessment_flag"] = get(ass, ASSESSMENT_FLAG)
            prob = get(ass, ASSESSMENT_PROB)
            entry["probability"] = None if prob is None else float(prob)
        out.append(entry)
    return out


def describe(path):
    ds = pydicom.dcmread(path)
    has_pixels = "PixelData" in ds
    row = {
        "file": path.name,
        "sop_class_uid": str(ds.SOPClassUID),
        "sop_instance_uid": str(ds.SOPInstanceUID),
        "modality": str(ds.Modality),
        "transfer_syntax_uid": str(ds.file_meta.TransferSyntaxUID),
        "rows": int(ds.Rows) if "Rows" in ds else None,
        "columns": int(ds.Columns) if "Columns" in ds else None,
        "frames": (int(ds.get("NumberOfFrames", 1) or 1)) if has_pixels else None,
        "bits_allocated": int(ds.BitsAllocated) if "BitsAllocated" in ds else None,
    }
    if has_pixels:
        pixels = ds.pixel_array.astype("int64")
        row["pixel_sum"] = int(pixels.sum())
        row["pixel_min"] = int(pixels.min())
        row["pixel_max"] = int(pixels.max())
        # First frame's first row, so a transposed or shifted decode cannot pass on sums alone.
        first = pixels.reshape(row["frames"], row["rows"], row["columns"])[0]
        row["first_row_sum"] = int(first[0].sum())
        row["center_pixel"] = int(first[row["rows"] // 2][row["columns"] // 2])
    if row["modality"] == "TDR":
        row["alarm_decision"] = get(ds, ALARM_DECISION)
        row["threats"] = threats(ds)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data_dir", type=Path)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path)
    group.add_argument("--check", type=Path)
    args = parser.parse_args()
    files = sorted(args.data_dir.glob("*.dcs"))
    if not files:
        print(f"no .dcs files in {args.data_dir}", file=sys.stderr)
        return 1
    table = [describe(f) for f in files]
    if args.out:
        args.out.write_text(json.dumps(table, indent=1) + "\n")
        print(f"wrote {len(table)} entries to {args.out}")
        return 0
    frozen = {row["file"]: row for row in json.loads(args.check.read_text())}
    bad = 0
    for row in table:
        if frozen.get(row["file"]) != row:
            bad += 1
            print(f"MISMATCH {row['file']}", file=sys.stderr)
    print(f"{len(table) - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
