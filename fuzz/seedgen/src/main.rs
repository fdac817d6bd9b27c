//! Writes the committed seed corpus of the fuzz targets (`fuzz/seeds/<target>/`) from the reference data.
//!
//! Usage (from `fuzz/`): `cargo run -p garita-fuzz-seedgen -- [DATA_DIR] [OUT_DIR]`, defaults
//! `/work/shared/data` and `seeds`.
//!
//! The reference files are far too large for fuzzing (libFuzzer mutates a few bytes per run, and the structure of a
//! file lives in its headers), so every seed is a small derived file:
//! * `wsq_decode/`: centre crops of the reference fingerprints re-encoded with `garita_wsq::encode` at several sizes,
//!   odd dimensions and bitrates, plus the first bytes of one reference file (headers and tables, then truncated).
//! * `an2_roundtrip/`: the smallest reference transaction as it is, and every other reference transaction shrunk:
//!   the same records and fields, with each image replaced by a tiny one of the same kind (a 32x32 WSQ for WSQ
//!   images, an 8x8 raster for uncompressed ones, the first 512 bytes for other compressed formats) and the line
//!   lengths updated, so that the seed still reads and validates.

use std::borrow::Cow;
use std::fs;
use std::path::{Path, PathBuf};

use garita_an2::{
    Field, FixedImageRecord, Record, SignatureRecord, Tag, TaggedRecord, Transaction,
    TransactionBuilder, Type7Record,
};
use garita_wsq::{EncodeOptions, GrayImage};

type BoxError = Box<dyn std::error::Error>;

/// Largest AN2 seed kept, in bytes.
const MAX_AN2_SEED: usize = 16 * 1024;

fn main() -> Result<(), BoxError> {
    let mut args = std::env::args().skip(1);
    let data = PathBuf::from(
        args.next()
            .unwrap_or_else(|| "../shared/data".to_owned()),
    );
    let out = PathBuf::from(args.next().unwrap_or_else(|| "seeds".to_owned()));
    let tiny_wsq = wsq_seeds(&data.join("wsq"), &out.join("wsq_decode"))?;
    an2_seeds(
        &data.join("ansi-nist"),
        &out.join("an2_roundtrip"),
        &tiny_wsq,
    )?;
    Ok(())
}

/// The `width` x `height` centre crop of `image`.
fn crop(image: &GrayImage, width: u32, height: u32) -> Result<GrayImage, BoxError> {
    let x0 = (image.width() - width) / 2;
    let y0 = (image.height() - height) / 2;
    let mut pixels = Vec::with_capacity((width * height) as usize);
    for y in y0..y0 + height {
        let start = (y * image.width() + x0) as usize;
        pixels.extend_from_slice(&image.pixels()[start..start + width as usize]);
    }
    Ok(GrayImage::new(width, height, pixels)?.with_ppi(image.ppi()))
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), BoxError> {
    fs::create_dir_all(dir)?;
    fs::write(dir.join(name), bytes)?;
    println!("{:>7} {}", bytes.len(), dir.join(name).display());
    Ok(())
}

/// Writes the WSQ seeds; returns the 32x32 WSQ file used inside the AN2 seeds.
fn wsq_seeds(data: &Path, out: &Path) -> Result<Vec<u8>, BoxError> {
    let fp1 = fs::read(data.join("fp-1.wsq"))?;
    let fp10 = fs::read(data.join("fp-10.wsq"))?;
    let image1 = garita_wsq::decode(&fp1)?;
    let image10 = garita_wsq::decode(&fp10)?;
    let options = |bitrate: f32| EncodeOptions {
        bitrate,
        ..EncodeOptions::default()
    };

    let tiny = garita_wsq::encode(&crop(&image1, 32, 32)?, &options(0.75))?;
    write(out, "fp1-crop-32x32-0.75bpp.wsq", &tiny)?;
    let with_comments = EncodeOptions {
        bitrate: 2.25,
        ppi: Some(500),
        nistcom: vec![("COLORSPACE".to_owned(), "GRAY".to_owned())],
        comments: vec!["garita fuzz seed".to_owned()],
    };
    write(
        out,
        "fp1-crop-64x48-2.25bpp-comments.wsq",
        &garita_wsq::encode(&crop(&image1, 64, 48)?, &with_comments)?,
    )?;
    write(
        out,
        "fp10-crop-37x53-odd-0.75bpp.wsq",
        &garita_wsq::encode(&crop(&image10, 37, 53)?, &options(0.75))?,
    )?;
    write(
        out,
        "fp10-crop-96x80-0.3bpp.wsq",
        &garita_wsq::encode(&crop(&image10, 96, 80)?, &options(0.3))?,
    )?;
    // Headers, tables and the start of the first block of a real NBIS-encoded file, then cut: the reference
    // encoder's table layout, which garita's own encoder may not reproduce byte for byte.
    write(out, "fp1-first-1500-bytes.wsq", &fp1[..1500])?;
    Ok(tiny)
}

/// The first item of field `number`, as text.
fn text(record: &TaggedRecord, number: u32) -> Option<String> {
    record
        .field(number)
        .and_then(|field| field.item(0, 0))
        .map(|item| String::from_utf8_lossy(item).into_owned())
}

fn items(field: &Field) -> Vec<Vec<Vec<u8>>> {
    field
        .subfield_list()
        .iter()
        .map(|subfield| subfield.items().to_vec())
        .collect()
}

/// Bytes per pixel of an uncompressed tagged image (BPX, 8 when absent).
fn bytes_per_pixel(record: &TaggedRecord) -> usize {
    text(record, 12)
        .and_then(|bpx| bpx.parse::<usize>().ok())
        .map_or(1, |bits| (bits / 8).max(1))
}

/// The same record with a tiny image in place of its own.
fn shrink(record: &Record, tiny_wsq: &[u8]) -> Result<Option<Record>, BoxError> {
    const KEEP: usize = 512;
    Ok(Some(match record {
        Record::Tagged(tagged) => {
            let mut tagged = tagged.clone();
            let record_type = tagged.record_type();
            if let Some(data) = tagged.field(999).and_then(Field::data).map(<[u8]>::to_vec) {
                let cga = text(&tagged, 11).unwrap_or_default().to_ascii_uppercase();
                let (side, data) = match cga.as_str() {
                    "NONE" => {
                        let len = 64 * bytes_per_pixel(&tagged);
                        (Some(8), data[..len.min(data.len())].to_vec())
                    }
                    "WSQ20" | "WSQ" => (Some(32), tiny_wsq.to_vec()),
                    _ => (None, data[..KEEP.min(data.len())].to_vec()),
                };
                if let Some(side) = side {
                    for number in [6, 7] {
                        tagged.set_field(Field::text(
                            Tag::new(record_type, number),
                            side.to_string(),
                        )?)?;
                    }
                }
                tagged.set_field(Field::binary(Tag::new(record_type, 999), data)?)?;
            }
            Record::Tagged(tagged)
        }
        Record::FixedImage(fixed) => {
            let (side, data) = match fixed.compression {
                0 if matches!(fixed.record_type(), 3 | 4) => (8, fixed.data()[..64].to_vec()),
                0 => (8, fixed.data()[..8].to_vec()),
                1 => (32, tiny_wsq.to_vec()),
                _ => (0, fixed.data()[..KEEP.min(fixed.data().len())].to_vec()),
            };
            let (hll, vll) = if side == 0 {
                (fixed.hll, fixed.vll)
            } else {
                (side, side)
            };
            Record::FixedImage(FixedImageRecord::new(
                fixed.record_type(),
                fixed.idc,
                fixed.imp,
                fixed.fgp,
                fixed.isr,
                hll,
                vll,
                fixed.compression,
                data,
            )?)
        }
        Record::UserDefinedImage(type7) => {
            let keep = (13 + KEEP).min(type7.data().len());
            Record::UserDefinedImage(Type7Record::new(type7.idc, type7.data()[..keep].to_vec())?)
        }
        Record::Signature(signature) => {
            let keep = KEEP.min(signature.data().len());
            Record::Signature(SignatureRecord::new(
                signature.idc,
                signature.sig,
                signature.srt,
                signature.isr,
                signature.hll,
                signature.vll,
                signature.data()[..keep].to_vec(),
            )?)
        }
        Record::Opaque(opaque) if opaque.bytes().len() <= 2048 => record.clone(),
        Record::Opaque(_) => return Ok(None),
    }))
}

/// A copy of `tx` with every image shrunk, built through `TransactionBuilder` (which validates it).
fn shrink_transaction(tx: &Transaction, tiny_wsq: &[u8]) -> Result<Transaction, BoxError> {
    let type1 = tx.type1().ok_or("no Type-1 record")?;
    let get = |number: u32| text(type1, number).unwrap_or_default();
    let mut builder = TransactionBuilder::new(&get(4), &get(7), &get(8), &get(9), &get(5))
        .version(&get(2))
        .resolutions(&get(11), &get(12));
    for field in type1.fields() {
        let number = field.tag().field;
        if !matches!(number, 1 | 2 | 3 | 4 | 5 | 7 | 8 | 9 | 11 | 12) {
            builder = builder.type1_items(number, items(field));
        }
    }
    for type2 in tx.type2_records().take(1) {
        for field in type2.fields() {
            let number = field.tag().field;
            if number > 2 {
                builder = builder.type2_items(number, items(field));
            }
        }
    }
    for record in tx
        .records()
        .iter()
        .filter(|record| record.record_type() > 2)
    {
        // A shrunk record that no longer validates is kept as it was only if it is small already.
        if let Some(small) = shrink(record, tiny_wsq)? {
            builder = builder.record(small);
        }
    }
    Ok(builder.build()?)
}

fn an2_seeds(data: &Path, out: &Path, tiny_wsq: &[u8]) -> Result<(), BoxError> {
    let mut files: Vec<PathBuf> = fs::read_dir(data)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "an2"))
        .collect();
    files.sort();
    for path in files {
        let bytes = fs::read(&path)?;
        let stem: Cow<'_, str> = path
            .file_stem()
            .map_or(Cow::Borrowed("x"), |stem| stem.to_string_lossy());
        if bytes.len() <= MAX_AN2_SEED {
            Transaction::from_bytes(&bytes)?;
            write(out, &format!("{stem}.an2"), &bytes)?;
            continue;
        }
        let tx = Transaction::from_bytes(&bytes)?;
        match shrink_transaction(&tx, tiny_wsq) {
            Ok(small) => {
                let small = small.to_bytes();
                if small.len() <= MAX_AN2_SEED {
                    write(out, &format!("{stem}.small.an2"), &small)?;
                } else {
                    println!("skipped {stem}: {} bytes after shrinking", small.len());
                }
            }
            Err(error) => println!("skipped {stem}: {error}"),
        }
    }
    Ok(())
}
