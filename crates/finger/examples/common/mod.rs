//! What the development examples share: a set folder's name and templates cached between runs.
#![allow(dead_code)] // each example uses part of it

use std::path::Path;

use garita_finger::{Template, extract, load_image};

/// The last component of a set folder (`FVC2000_DB1_B`).
pub fn set_name(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The template of one image. With `cache`, it is read from `CACHE/<image stem>.gft` when there and written
/// there after extraction otherwise (`Template::to_bytes`), so matcher experiments re-run in seconds; a cache
/// that cannot be written only costs the next run's time.
pub fn template(image: &Path, cache: Option<&Path>) -> Result<Template, String> {
    let cached = cache.zip(image.file_stem()).map(|(dir, stem)| {
        let mut name = stem.to_os_string();
        name.push(".gft");
        dir.join(name)
    });
    if let Some(bytes) = cached.as_ref().and_then(|c| std::fs::read(c).ok())
        && let Ok(t) = Template::from_bytes(&bytes)
    {
        return Ok(t);
    }
    let bytes = std::fs::read(image).map_err(|e| format!("{}: {e}", image.display()))?;
    let t = load_image(&bytes, None)
        .and_then(|i| extract(&i))
        .map_err(|e| format!("{}: {e}", image.display()))?;
    if let Some(c) = cached
        && let Ok(bytes) = t.to_bytes()
    {
        let written = c
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&c, bytes));
        if let Err(e) = written {
            eprintln!("cache {}: {e}", c.display());
        }
    }
    Ok(t)
}
