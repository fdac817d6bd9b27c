//! `garita cargo ...`: cargo NII — DICOS files, the dual-energy simulator, analysis and evaluation.

use anyhow::{Context, bail};
use garita_nii::{Manifest, Scan};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Print what a DICOS file holds: SOP class, modality, size, frames, bits; threat items for a TDR.
    DicosInfo {
        /// DICOS files
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Simulate dual-energy container scans with planted concealments: DX (high and low energy), manifest and
    /// ground truth per scene, deterministic per seed.
    Simulate {
        /// First seed
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// Scenes to write
        #[arg(long, default_value_t = 10)]
        count: u64,
        /// Output directory (created)
        #[arg(long)]
        out: PathBuf,
    },
    /// Analyse a dual-energy pair against its manifest: findings with region, class, score and reason.
    Analyze {
        /// The high- and low-energy DX files (any order: the Image Type says which is which)
        #[arg(required = true, num_args = 2)]
        files: Vec<PathBuf>,
        /// Manifest JSON [default: the NAME.manifest.json beside NAME_high.dcs]
        #[arg(long)]
        manifest: Option<PathBuf>,
        /// Write the findings as a DICOS TDR here
        #[arg(long)]
        tdr: Option<PathBuf>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Detection rate and false alarms per image of the analysis on a simulated directory, against its ground
    /// truth.
    Eval {
        /// A directory written by `garita cargo simulate`
        dir: PathBuf,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn read(path: &Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("reading {}", path.display()))
}

fn default_manifest(scan: &Path) -> anyhow::Result<PathBuf> {
    let name = scan
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    let stem = name.rsplit_once('_').map_or(name, |(stem, _)| stem);
    let candidate = scan.with_file_name(format!("{stem}.manifest.json"));
    if candidate.exists() {
        Ok(candidate)
    } else {
        bail!(
            "no manifest given and {} does not exist; pass --manifest",
            candidate.display()
        )
    }
}

pub fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::DicosInfo { files, json } => {
            use std::io::Write;
            let mut failed = false;
            let mut out = std::io::stdout().lock();
            for file in files {
                match garita_nii::dicos_info(&read(&file)?) {
                    Ok(info) if json => writeln!(out, "{}", serde_json::to_string_pretty(&info)?)?,
                    Ok(info) => {
                        let value = serde_json::to_value(&info)?;
                        writeln!(out, "{}:", file.display())?;
                        for (key, value) in value.as_object().into_iter().flatten() {
                            writeln!(out, "  {key}: {value}")?;
                        }
                    }
                    Err(err) => {
                        eprintln!("garita: {}: {err}", file.display());
                        failed = true;
                    }
                }
            }
            Ok(if failed {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Simulate { seed, count, out } => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            for index in 0..count {
                let scenes = garita_nii::simulate(seed + index, 1, &out).context("simulating")?;
                eprintln!(
                    "[{}/{count}] seed {} -> {}",
                    index + 1,
                    seed + index,
                    scenes
                        .first()
                        .map_or(String::new(), |s| s.high.display().to_string())
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Analyze {
            files,
            manifest,
            tdr,
            json,
        } => {
            let scans = files
                .iter()
                .map(|file| {
                    garita_nii::read_scan(&read(file)?)
                        .with_context(|| format!("reading {}", file.display()))
                })
                .collect::<anyhow::Result<Vec<Scan>>>()?;
            let mut scans = scans.into_iter();
            let (first, second) = (
                scans.next().context("two scans")?,
                scans.next().context("two scans")?,
            );
            let pair = garita_nii::pair_dual_energy(first, second)
                .context("the two files are not a dual-energy pair")?;
            let manifest_path = match manifest {
                Some(path) => path,
                None => default_manifest(&files[0])?,
            };
            let manifest: Manifest = garita_nii::read_json(&manifest_path)?;
            let findings = garita_nii::analyze(&pair, &manifest).context("analysing")?;
            if let Some(path) = tdr {
                // UIDs under the 2.25 arc are derived from UUIDs (ISO/IEC 9834-8), so no registered root is needed.
                let uid = || format!("2.25.{}", uuid::Uuid::new_v4().as_u128());
                let now = time::OffsetDateTime::now_utc();
                let referenced: Vec<(String, String)> = [&pair.high, &pair.low]
                    .iter()
                    .map(|scan| {
                        (
                            scan.info.sop_class_uid.clone(),
                            scan.info.sop_instance_uid.clone(),
                        )
                    })
                    .collect();
                let identity = garita_nii::ScanIdentity {
                    ooi_id: manifest.container_number.clone(),
                    study_instance_uid: pair
                        .high
                        .info
                        .study_instance_uid
                        .clone()
                        .unwrap_or_else(uid),
                    series_instance_uid: uid(),
                    date: format!(
                        "{:04}{:02}{:02}",
                        now.year(),
                        u8::from(now.month()),
                        now.day()
                    ),
                    time: format!("{:02}{:02}{:02}", now.hour(), now.minute(), now.second()),
                };
                let report = garita_nii::tdr_for_findings(&uid(), &referenced, &findings);
                std::fs::write(&path, garita_nii::write_tdr(&identity, &report)?)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            if json {
                println!("{}", serde_json::to_string_pretty(&findings)?);
            } else if findings.is_empty() {
                println!("no finding: the image is consistent with the manifest");
            } else {
                for finding in &findings {
                    println!(
                        "#{} {:?} score {:.2} at {:?}: {}",
                        finding.id, finding.kind, finding.score, finding.region, finding.reason
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval { dir, json } => {
            let report = garita_nii::eval_dir(&dir)
                .with_context(|| format!("evaluating {}", dir.display()))?;
            if json {
                println!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                println!(
                    "{} images, {} concealments: detected {} ({:.1} %), false alarms {} ({:.3} per image) at threshold {:.2}",
                    report.images,
                    report.concealments,
                    report.detected,
                    100.0 * report.detection_rate,
                    report.false_alarms,
                    report.false_alarms_per_image,
                    report.threshold
                );
                for kind in &report.per_kind {
                    println!("  {}", serde_json::to_string(kind)?);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
