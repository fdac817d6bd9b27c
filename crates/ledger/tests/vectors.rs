//! Every RFC 6962 / C2SP test vector in shared/data/tlog-vectors (transparency-dev/merkle testdata).

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use garita_ledger::Hash;
use garita_ledger::merkle::{
    verify_consistency, verify_inclusion, verify_subtree_consistency, verify_subtree_inclusion,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

fn vectors_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/tlog-vectors");
    if dir.is_dir() {
        Some(dir)
    } else {
        println!("skipping: {} not found", dir.display());
        None
    }
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "json") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// A consistency root field. Some vectors use short strings as roots that are only compared for equality (e.g.
/// "sizes are equal (one) and proof is empty"); those map injectively to a 32-byte stand-in, which no real
/// SHA-256 computation can produce, so equality is kept and any hashing with them fails as it should.
fn hash(v: &Value) -> Option<Hash> {
    let raw = B64.decode(v.as_str()?).ok()?;
    match <[u8; 32]>::try_from(raw.as_slice()) {
        Ok(h) => Some(Hash(h)),
        Err(_) => {
            let mut h = Sha256::new();
            h.update(b"not a 32-byte hash:");
            h.update(&raw);
            Some(Hash(h.finalize().into()))
        }
    }
}

/// A proof element, leaf hash or inclusion root: must be exactly 32 bytes (inclusion vectors with an empty leaf
/// hash and root must fail even though they are equal).
fn proof_hash(v: &Value) -> Option<Hash> {
    let raw = B64.decode(v.as_str()?).ok()?;
    Some(Hash(raw.try_into().ok()?))
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    match v {
        Value::Null => Some(vec![]),
        Value::Array(items) => items.iter().map(proof_hash).collect(),
        _ => None,
    }
}

fn u64_field(v: &Value, name: &str) -> u64 {
    v[name].as_u64().unwrap_or_else(|| panic!("{name} missing"))
}

/// Runs every vector in `sub` through `check`, asserting the outcome matches `wantErr`. Returns how many ran.
fn run(sub: &str, check: impl Fn(&Value) -> bool) -> usize {
    let Some(dir) = vectors_dir() else { return 0 };
    let files = json_files(&dir.join(sub));
    assert!(!files.is_empty(), "no vectors under {sub}");
    for file in &files {
        let v: Value = serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap();
        let want_err = v["wantErr"].as_bool().unwrap();
        let ok = check(&v);
        assert_eq!(ok, !want_err, "{} ({})", file.display(), v["desc"]);
    }
    files.len()
}

#[test]
fn inclusion_vectors() {
    let n = run("inclusion", |v| {
        let (Some(root), Some(leaf), Some(p)) = (
            proof_hash(&v["root"]),
            proof_hash(&v["leafHash"]),
            proof(&v["proof"]),
        ) else {
            return false;
        };
        verify_inclusion(
            &p,
            u64_field(v, "treeSize"),
            root,
            u64_field(v, "leafIdx"),
            leaf,
        )
        .is_ok()
    });
    println!("{n} inclusion vectors");
}

#[test]
fn consistency_vectors() {
    let n = run("consistency", |v| {
        let (Some(r1), Some(r2), Some(p)) =
            (hash(&v["root1"]), hash(&v["root2"]), proof(&v["proof"]))
        else {
            return false;
        };
        verify_consistency(&p, u64_field(v, "size1"), r1, u64_field(v, "size2"), r2).is_ok()
    });
    println!("{n} consistency vectors");
}

#[test]
fn subtree_inclusion_vectors() {
    let n = run("subtreeinclusion", |v| {
        let (Some(root), Some(leaf), Some(p)) = (
            proof_hash(&v["root"]),
            proof_hash(&v["leafHash"]),
            proof(&v["proof"]),
        ) else {
            return false;
        };
        let (start, end) = (u64_field(v, "start"), u64_field(v, "end"));
        verify_subtree_inclusion(&p, start, end, root, u64_field(v, "leafIdx"), leaf).is_ok()
    });
    println!("{n} subtree inclusion vectors");
}

#[test]
fn subtree_consistency_vectors() {
    let n = run("subtreeconsistency", |v| {
        let (Some(sub), Some(root), Some(p)) =
            (hash(&v["root1"]), hash(&v["root2"]), proof(&v["proof"]))
        else {
            return false;
        };
        let (start, end, size) = (
            u64_field(v, "start"),
            u64_field(v, "end"),
            u64_field(v, "size"),
        );
        verify_subtree_consistency(&p, start, end, size, sub, root).is_ok()
    });
    println!("{n} subtree consistency vectors");
}
