//! Physics-based dual-energy transmission simulator for cargo containers.
//!
//! No real cargo image set can be shipped, so garita generates its own: ISO containers (20GP/40GP, steel walls,
//! corrugation, crossmembers, plywood floor, doors with locking bars) on a trailer chassis, loaded with declared
//! goods and planted concealments, imaged side-on by a 6/4 MeV interlaced linac ([`DualEnergySource::linac_6_4`])
//! with an energy-integrating detector, Poisson photon noise and electronic noise.
//!
//! Geometry is a set of axis-aligned slabs in the side view, each with a material and a mass thickness along the
//! beam (bulk density x depth). Each detector pixel sums the mass thickness per material of the slabs it sees, and
//! its transmission follows Beer-Lambert over the binned spectrum ([`crate::physics`]).
//! Every random choice comes from a ChaCha8 stream seeded by the scene seed, so a seed always gives the same scene.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::dicos::{DxImage, Energy, ScanIdentity, write_dx};
use crate::error::{NiiError, Result};
use crate::goods::{GOODS, GoodsKind, profile};
use crate::manifest::{
    Concealment, ConcealmentKind, GroundTruth, Manifest, ManifestItem, PixelBox,
};
use crate::physics::{DualEnergySource, Material, N_MATERIALS};

/// Stored sample = -ln(transmission) x this scale; the DX Rescale Slope is its inverse.
pub const ATTENUATION_SCALE: f64 = 4000.0;

/// Largest image the simulator renders, a guard against accidental huge allocations.
const MAX_SIM_PIXELS: u64 = 16_000_000;

/// Imaging parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SimConfig {
    /// Image width in pixels (along the container).
    pub columns: u32,
    /// Image height in pixels.
    pub rows: u32,
    /// Mean detected photons per pixel in the open beam at 6 MeV.
    pub photons_high: f64,
    /// Mean detected photons per pixel in the open beam at 4 MeV.
    pub photons_low: f64,
    /// Electronic noise, standard deviation in photon-equivalents.
    pub electronic_noise: f64,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            columns: 2000,
            rows: 1000,
            photons_high: 200_000.0,
            photons_low: 120_000.0,
            electronic_noise: 3.0,
        }
    }
}

/// One simulated scan: the dual-energy image, the manifest and the ground truth.
#[derive(Clone, Debug)]
pub struct SimScene {
    /// Scene seed.
    pub seed: u64,
    /// The declaration as the shipper filed it.
    pub manifest: Manifest,
    /// What is really in the container.
    pub truth: GroundTruth,
    /// High-energy samples, -ln(T) x [`ATTENUATION_SCALE`], raster order.
    pub high: Vec<u16>,
    /// Low-energy samples.
    pub low: Vec<u16>,
}

/// Paths written for one scene by [`write_scene`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SceneFiles {
    /// High-energy DX.
    pub high: PathBuf,
    /// Low-energy DX.
    pub low: PathBuf,
    /// Manifest JSON.
    pub manifest: PathBuf,
    /// Ground truth JSON.
    pub truth: PathBuf,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Owner {
    Structure,
    Goods(usize),
    Concealment(usize),
}

/// Axis-aligned slab in the side view, in centimetres; y grows upwards from the container's underside.
#[derive(Clone, Copy, Debug)]
struct Slab {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    material: Material,
    /// Mass thickness along the beam, g/cm^2.
    areal: f64,
    owner: Owner,
}

struct Builder {
    rng: ChaCha8Rng,
    slabs: Vec<Slab>,
}

impl Builder {
    // A slab is seven plain numbers plus its owner; a struct literal at every call site would bury the geometry.
    #[allow(clippy::too_many_arguments)]
    fn slab(
        &mut self,
        x0: f64,
        x1: f64,
        y0: f64,
        y1: f64,
        material: Material,
        density: f64,
        depth_cm: f64,
        owner: Owner,
    ) {
        if x1 > x0 && y1 > y0 && density * depth_cm > 0.0 {
            self.slabs.push(Slab {
                x0,
                x1,
                y0,
                y1,
                material,
                areal: density * depth_cm,
                owner,
            });
        }
    }

    fn mass_kg(&self, owner: Owner) -> f64 {
        self.slabs
            .iter()
            .filter(|s| s.owner == owner)
            .map(|s| s.areal * (s.x1 - s.x0) * (s.y1 - s.y0) / 1000.0)
            .sum()
    }

    fn range(&mut self, lo: f64, hi: f64) -> f64 {
        if hi > lo {
            self.rng.gen_range(lo..hi)
        } else {
            lo
        }
    }
}

/// Container dimensions in cm.
struct Container {
    kind: &'static str,
    length_ext: f64,
}

const FLOOR_TOP: f64 = 15.0;
const CEILING: f64 = 254.0;
const HEIGHT_EXT: f64 = 259.0;
const WIDTH_INT: f64 = 235.0;
const X_MARGIN: f64 = 40.0;
const Y_MIN: f64 = -60.0;
const Y_MAX: f64 = 285.0;

fn build_container(b: &mut Builder, c: &Container) {
    let l = c.length_ext;
    let s = Owner::Structure;
    // Side walls: two corrugated 2 mm sheets, 1.25 x longer along the corrugation.
    b.slab(0.0, l, 0.0, HEIGHT_EXT, Material::Steel, 7.87, 0.5, s);
    // Bottom side rails and crossmembers (C-sections across the width, every ~30 cm).
    b.slab(0.0, l, 0.0, FLOOR_TOP, Material::Steel, 7.87, 1.2, s);
    let mut x = 10.0;
    while x + 5.0 < l - 10.0 {
        b.slab(x, x + 5.0, 0.0, 12.0, Material::Steel, 7.87, 37.0, s);
        x += 30.0;
    }
    // Plywood floor seen along its 235 cm width.
    b.slab(
        8.0,
        l - 8.0,
        12.0,
        FLOOR_TOP,
        Material::Cellulose,
        0.47,
        WIDTH_INT,
        s,
    );
    // Roof sheet and top side rails.
    b.slab(0.0, l, CEILING, HEIGHT_EXT, Material::Steel, 7.87, 12.0, s);
    // Front wall with corner posts, doors with locking bars.
    b.slab(0.0, 8.0, 0.0, HEIGHT_EXT, Material::Steel, 7.87, 9.0, s);
    b.slab(l - 8.0, l, 0.0, HEIGHT_EXT, Material::Steel, 7.87, 16.0, s);
    // Trailer chassis: two main I-beams under the container.
    b.slab(60.0, l - 20.0, -35.0, -5.0, Material::Steel, 7.87, 2.0, s);
    b.slab(60.0, l - 20.0, -38.0, -35.0, Material::Steel, 7.87, 12.0, s);
}

/// Fills `[x0, x1) x [y0, y_top)` with cartons of `w x h` cm whose densities vary around `density`.
// Same reason as Builder::slab: the carton grid is described by its plain dimensions.
#[allow(clippy::too_many_arguments)]
fn cartons(
    b: &mut Builder,
    x0: f64,
    x1: f64,
    y0: f64,
    y_top: f64,
    w: f64,
    h: f64,
    material: Material,
    density: f64,
    depth: f64,
    owner: Owner,
) {
    // Pallets of 120 cm with 5 cm gaps; each pallet's stack height varies a little.
    let mut px = x0;
    while px + 40.0 <= x1 {
        let pallet_end = (px + 120.0).min(x1);
        b.slab(
            px,
            pallet_end,
            y0,
            y0 + 14.0,
            Material::Cellulose,
            0.28,
            depth,
            owner,
        );
        let top = (y_top - b.range(0.0, 30.0)).max(y0 + 14.0 + h);
        // Cartons tile the pallet exactly, as loaders pick carton sizes that fit the pallet.
        let per_row = ((pallet_end - px) / w).round().max(1.0);
        let cw = (pallet_end - px) / per_row;
        let mut y = y0 + 14.0;
        while y + h <= top {
            let mut x = px;
            while x + cw * 0.5 <= pallet_end {
                let xe = (x + cw).min(pallet_end);
                let f = b.range(0.85, 1.15);
                b.slab(
                    x + 0.5,
                    xe - 0.5,
                    y + 0.5,
                    y + h - 0.5,
                    material,
                    density * f,
                    depth,
                    owner,
                );
                x += cw;
            }
            y += h;
        }
        px = pallet_end + 5.0;
    }
}

fn load_goods(b: &mut Builder, kind: GoodsKind, x0: f64, x1: f64, y0: f64, owner: Owner) {
    match kind {
        GoodsKind::Fruit => cartons(
            b,
            x0,
            x1,
            y0,
            CEILING - 20.0,
            50.0,
            25.0,
            Material::Water,
            0.45,
            220.0,
            owner,
        ),
        GoodsKind::Textiles => cartons(
            b,
            x0,
            x1,
            y0,
            CEILING - 10.0,
            60.0,
            40.0,
            Material::Cellulose,
            0.18,
            225.0,
            owner,
        ),
        GoodsKind::Cigarettes => cartons(
            b,
            x0,
            x1,
            y0,
            CEILING - 15.0,
            55.0,
            30.0,
            Material::Cellulose,
            0.27,
            220.0,
            owner,
        ),
        GoodsKind::Electronics => {
            cartons(
                b,
                x0,
                x1,
                y0,
                CEILING - 25.0,
                50.0,
                35.0,
                Material::Polyethylene,
                0.11,
                220.0,
                owner,
            );
            // Metal content of the laptops, spread over the same cartons.
            let n = b.slabs.len();
            let boxes: Vec<Slab> = b.slabs[..n]
                .iter()
                .filter(|s| {
                    s.owner == owner && s.material == Material::Polyethylene && s.y1 - s.y0 > 20.0
                })
                .copied()
                .collect();
            for s in boxes {
                let f = b.range(0.7, 1.3);
                b.slab(
                    s.x0,
                    s.x1,
                    s.y0,
                    s.y1,
                    Material::Aluminium,
                    0.03 * f,
                    220.0,
                    owner,
                );
                b.slab(
                    s.x0 + 3.0,
                    s.x1 - 3.0,
                    s.y0 + 3.0,
                    s.y1 - 3.0,
                    Material::Copper,
                    0.008 * f,
                    220.0,
                    owner,
                );
                b.slab(
                    s.x0,
                    s.x1,
                    s.y0,
                    s.y1,
                    Material::Steel,
                    0.012 * f,
                    220.0,
                    owner,
                );
            }
        }
        GoodsKind::IronOre => {
            // Bulk bags (FIBC) of about 1.1 m, one tier, one across: payload limits leave the rest empty.
            let mut x = x0;
            while x + 100.0 <= x1 {
                let h = b.range(85.0, 105.0);
                b.slab(
                    x,
                    x + 110.0,
                    y0,
                    y0 + 14.0,
                    Material::Cellulose,
                    0.28,
                    120.0,
                    owner,
                );
                let density = b.range(1.8, 2.2);
                b.slab(
                    x + 2.0,
                    x + 108.0,
                    y0 + 14.0,
                    y0 + 14.0 + h,
                    Material::Hematite,
                    density,
                    105.0,
                    owner,
                );
                x += 118.0;
            }
        }
        GoodsKind::Scrap => {
            let span = x1 - x0;
            let n = (span / 12.0) as usize;
            for _ in 0..n {
                let w = b.range(15.0, 120.0);
                let h = b.range(4.0, 50.0);
                let x = b.range(x0, (x1 - w).max(x0 + 1.0));
                let y = b.range(y0, y0 + 140.0);
                let depth = b.range(1.0, 12.0);
                b.slab(x, x + w, y, y + h, Material::Steel, 7.87, depth, owner);
            }
        }
        GoodsKind::Machinery => {
            let mut x = x0;
            while x + 120.0 <= x1 {
                let len = b.range(150.0, 380.0).min(x1 - x);
                machinery_unit(b, x, x + len, y0, owner);
                x += len + b.range(20.0, 60.0);
            }
        }
    }
}

/// One machine: welded steel housing on a base frame, with motor, shafts and gears inside.
fn machinery_unit(b: &mut Builder, x0: f64, x1: f64, y0: f64, owner: Owner) {
    let top = y0 + b.range(120.0, 215.0);
    let depth = b.range(140.0, 200.0);
    let wall = b.range(0.8, 2.0);
    // Base frame.
    b.slab(x0, x1, y0, y0 + 20.0, Material::Steel, 7.87, 8.0, owner);
    // Housing plates facing the beam (two) and edge-on plates (seen along their depth).
    b.slab(
        x0,
        x1,
        y0 + 20.0,
        top,
        Material::Steel,
        7.87,
        2.0 * wall,
        owner,
    );
    b.slab(
        x0,
        x0 + 2.0,
        y0 + 20.0,
        top,
        Material::Steel,
        7.87,
        depth * wall / 2.0,
        owner,
    );
    b.slab(
        x1 - 2.0,
        x1,
        y0 + 20.0,
        top,
        Material::Steel,
        7.87,
        depth * wall / 2.0,
        owner,
    );
    b.slab(
        x0,
        x1,
        top - 2.0,
        top,
        Material::Steel,
        7.87,
        depth * wall / 2.0,
        owner,
    );
    // Motor: copper windings in a steel casing.
    let mx = b.range(x0 + 10.0, (x1 - 70.0).max(x0 + 11.0));
    b.slab(
        mx,
        mx + 55.0,
        y0 + 25.0,
        y0 + 75.0,
        Material::Steel,
        7.87,
        12.0,
        owner,
    );
    b.slab(
        mx + 8.0,
        mx + 47.0,
        y0 + 32.0,
        y0 + 68.0,
        Material::Copper,
        8.96,
        10.0,
        owner,
    );
    // Shafts and gears.
    let sy = b.range(y0 + 60.0, (top - 30.0).max(y0 + 61.0));
    b.slab(
        x0 + 5.0,
        x1 - 5.0,
        sy,
        sy + 7.0,
        Material::Steel,
        7.87,
        7.0,
        owner,
    );
    let n_gears = 1 + (b.rng.gen_range(0..3u32)) as usize;
    for _ in 0..n_gears {
        let gx = b.range(x0 + 10.0, (x1 - 40.0).max(x0 + 11.0));
        let gs = b.range(20.0, 45.0);
        let gear_depth = b.range(4.0, 12.0);
        b.slab(
            gx,
            gx + gs,
            sy - gs / 2.0,
            sy + gs / 2.0,
            Material::Steel,
            7.87,
            gear_depth,
            owner,
        );
    }
    // Screening decks (perforated plates) higher up.
    let n_decks = b.rng.gen_range(1..4u32);
    for i in 0..n_decks {
        let dy = sy + 25.0 + 22.0 * f64::from(i);
        if dy + 3.0 < top - 5.0 {
            b.slab(
                x0 + 4.0,
                x1 - 4.0,
                dy,
                dy + 3.0,
                Material::Steel,
                7.87,
                depth * 0.1,
                owner,
            );
        }
    }
}

/// Check digit of an ISO 6346 container number (owner code, category, serial).
fn iso6346_check_digit(prefix: &str) -> u32 {
    let value = |c: char| -> u32 {
        if let Some(d) = c.to_digit(10) {
            return d;
        }
        // Letters count from A = 10, skipping multiples of 11 (ISO 6346 Annex A).
        let mut v = 10;
        let mut letter = 'A';
        while letter != c && letter < 'Z' {
            letter = char::from(letter as u8 + 1);
            v += 1;
            if v % 11 == 0 {
                v += 1;
            }
        }
        v
    };
    let sum: u32 = prefix
        .chars()
        .enumerate()
        .map(|(i, c)| value(c) * (1u32 << i))
        .sum();
    sum % 11 % 10
}

const ORIGINS: [&str; 12] = [
    "CO", "EC", "PE", "BR", "CN", "DE", "NL", "ES", "MA", "TR", "VN", "ZA",
];
const OWNER_CODES: [&str; 6] = ["MSC", "MAE", "CMA", "HLC", "ONE", "EGH"];

/// Generates one scene from its seed.
///
/// # Errors
/// [`NiiError::InvalidInput`] if the image would exceed 16 million pixels or a dimension is below 64.
pub fn generate_scene(seed: u64, config: &SimConfig) -> Result<SimScene> {
    if config.columns < 64 || config.rows < 64 {
        return Err(NiiError::invalid("simulated image must be at least 64x64"));
    }
    if u64::from(config.columns) * u64::from(config.rows) > MAX_SIM_PIXELS {
        return Err(NiiError::invalid(format!(
            "simulated image {}x{} exceeds {MAX_SIM_PIXELS} pixels",
            config.columns, config.rows
        )));
    }
    let mut b = Builder {
        rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6761_7269_7461_6e69),
        slabs: Vec::new(),
    };
    let container = if b.rng.gen_bool(0.5) {
        Container {
            kind: "20GP",
            length_ext: 606.0,
        }
    } else {
        Container {
            kind: "40GP",
            length_ext: 1219.0,
        }
    };
    build_container(&mut b, &container);
    let l = container.length_ext;
    let kind = GOODS[b.rng.gen_range(0..GOODS.len())].kind;

    // Choose at most one concealment scheme per scene (60 %), compatible with the goods.
    let mut options: Vec<ConcealmentKind> = vec![
        ConcealmentKind::FalseWall,
        ConcealmentKind::FalseFloor,
        ConcealmentKind::People,
    ];
    match kind {
        GoodsKind::Machinery => options.push(ConcealmentKind::ShieldedDrugsInMachinery),
        GoodsKind::Fruit => {
            options.push(ConcealmentKind::DrugsInProduce);
            options.push(ConcealmentKind::Weapons);
            options.push(ConcealmentKind::CigarettesUnderCoverLoad);
        }
        GoodsKind::Textiles | GoodsKind::Electronics => {
            options.push(ConcealmentKind::Weapons);
            options.push(ConcealmentKind::CigarettesUnderCoverLoad);
        }
        _ => {}
    }
    if kind == GoodsKind::Machinery {
        // Shielded drugs in machinery is the scenario this scanner exists for: weight it up.
        options.push(ConcealmentKind::ShieldedDrugsInMachinery);
    }
    let planted = if b.rng.gen_bool(0.6) {
        Some(options[b.rng.gen_range(0..options.len())])
    } else {
        None
    };

    let mut goods_x0 = 12.0;
    let fill = b.range(0.75, 1.0);
    let mut goods_x1 = 12.0 + (l - 24.0) * fill;
    if kind == GoodsKind::IronOre || kind == GoodsKind::Scrap {
        goods_x1 = l - 12.0;
    }
    let mut goods_y0 = FLOOR_TOP;
    let mut concealments: Vec<Concealment> = Vec::new();
    // Extent of each concealment in centimetres (x0, x1, y0, y1), converted to pixels once the pitch is known.
    let mut boxes_cm: Vec<[f64; 4]> = Vec::new();
    let mut cover_split: Option<f64> = None;
    let mut people_gap: Option<(f64, f64)> = None;
    match planted {
        Some(ConcealmentKind::FalseWall) => {
            let w = b.range(35.0, 70.0);
            let owner = Owner::Concealment(0);
            let drugs = b.rng.gen_bool(0.6);
            let (material, density, label) = if drugs {
                (Material::Cocaine, 0.75, "cocaine bricks")
            } else {
                (Material::Cellulose, 0.27, "cigarette cases")
            };
            let top = CEILING - b.range(5.0, 60.0);
            b.slab(
                12.0,
                12.0 + w,
                FLOOR_TOP,
                top,
                material,
                density,
                215.0,
                owner,
            );
            // The false wall itself: a steel sheet seen edge-on, like the real front wall but lighter.
            b.slab(
                12.0 + w,
                15.0 + w,
                FLOOR_TOP,
                CEILING,
                Material::Steel,
                7.87,
                5.0,
                Owner::Structure,
            );
            concealments.push(Concealment {
                kind: ConcealmentKind::FalseWall,
                region: PixelBox::default(),
                material,
                mass_kg: 0.0,
                description: format!("{label} behind a false front wall {w:.0} cm deep"),
            });
            set_box(&mut boxes_cm, 12.0, 12.0 + w, FLOOR_TOP, top);
            goods_x0 = 18.0 + w;
        }
        Some(ConcealmentKind::FalseFloor) => {
            let h = b.range(10.0, 16.0);
            let len = b.range(150.0, (goods_x1 - goods_x0 - 50.0).clamp(151.0, 500.0));
            let start = b.range(goods_x0, (goods_x1 - len).max(goods_x0 + 1.0));
            let owner = Owner::Concealment(0);
            let drugs = b.rng.gen_bool(0.7);
            let (material, density, label) = if drugs {
                (Material::Cocaine, 0.8, "cocaine bricks")
            } else {
                (Material::Cellulose, 0.3, "cigarette cartons")
            };
            b.slab(
                start,
                start + len,
                FLOOR_TOP,
                FLOOR_TOP + h,
                material,
                density,
                200.0,
                owner,
            );
            // The raised floor: a second plywood deck over the whole load.
            b.slab(
                goods_x0,
                goods_x1,
                FLOOR_TOP + h,
                FLOOR_TOP + h + 2.5,
                Material::Cellulose,
                0.47,
                WIDTH_INT,
                Owner::Structure,
            );
            concealments.push(Concealment {
                kind: ConcealmentKind::FalseFloor,
                region: PixelBox::default(),
                material,
                mass_kg: 0.0,
                description: format!("{label} under a false floor {h:.0} cm high"),
            });
            set_box(&mut boxes_cm, start, start + len, FLOOR_TOP, FLOOR_TOP + h);
            goods_y0 = FLOOR_TOP + h + 2.5;
        }
        Some(ConcealmentKind::CigarettesUnderCoverLoad) => {
            let cover = b.range(150.0, 260.0);
            cover_split = Some((goods_x1 - cover).max(goods_x0 + 100.0));
        }
        Some(ConcealmentKind::People) => {
            let gap = b.range(90.0, 160.0);
            let start = if b.rng.gen_bool(0.5) {
                (goods_x1 - gap).max(goods_x0)
            } else {
                b.range(goods_x0 + 50.0, (goods_x1 - gap).max(goods_x0 + 51.0))
            };
            people_gap = Some((start, start + gap));
        }
        _ => {}
    }

    // Load the declared goods, around any gap or split.
    let goods_owner = Owner::Goods(0);
    match (cover_split, people_gap) {
        (Some(split), _) => {
            let owner = Owner::Concealment(0);
            load_goods(
                &mut b,
                GoodsKind::Cigarettes,
                goods_x0,
                split,
                goods_y0,
                owner,
            );
            load_goods(&mut b, kind, split + 5.0, goods_x1, goods_y0, goods_owner);
            let top = b
                .slabs
                .iter()
                .filter(|s| s.owner == owner)
                .map(|s| s.y1)
                .fold(goods_y0, f64::max);
            concealments.push(Concealment {
                kind: ConcealmentKind::CigarettesUnderCoverLoad,
                region: PixelBox::default(),
                material: Material::Cellulose,
                mass_kg: 0.0,
                description: format!(
                    "cigarettes behind a {:.1} m cover load of {}",
                    (goods_x1 - split) / 100.0,
                    profile(kind).description
                ),
            });
            set_box(&mut boxes_cm, goods_x0, split, goods_y0, top);
        }
        (None, Some((g0, g1))) => {
            load_goods(&mut b, kind, goods_x0, g0, goods_y0, goods_owner);
            if g1 + 60.0 < goods_x1 {
                load_goods(&mut b, kind, g1, goods_x1, goods_y0, goods_owner);
            }
            let n_people = b.rng.gen_range(1..5u32);
            let owner = Owner::Concealment(0);
            let mut top: f64 = goods_y0;
            let mut x = g0 + 8.0;
            for _ in 0..n_people {
                if x + 40.0 > g1 {
                    break;
                }
                let standing = b.rng.gen_bool(0.6);
                let (w, h) = if standing {
                    (40.0, b.range(160.0, 185.0))
                } else {
                    (b.range(60.0, 80.0), b.range(95.0, 115.0))
                };
                person(&mut b, x, x + w, goods_y0, goods_y0 + h, owner);
                top = top.max(goods_y0 + h);
                x += w + b.range(2.0, 15.0);
            }
            concealments.push(Concealment {
                kind: ConcealmentKind::People,
                region: PixelBox::default(),
                material: Material::Water,
                mass_kg: 0.0,
                description: format!("{n_people} person(s) hidden in a gap in the load"),
            });
            set_box(&mut boxes_cm, g0 + 8.0, x, goods_y0, top);
            // Use the actual extent of the people drawn.
            let (px0, px1) = b
                .slabs
                .iter()
                .filter(|s| s.owner == owner)
                .fold((f64::MAX, f64::MIN), |(a, c), s| (a.min(s.x0), c.max(s.x1)));
            set_box(&mut boxes_cm, px0, px1, goods_y0, top);
        }
        _ => load_goods(&mut b, kind, goods_x0, goods_x1, goods_y0, goods_owner),
    }

    match planted {
        Some(ConcealmentKind::ShieldedDrugsInMachinery) => {
            // Inside the first machine housing: bricks, a steel plate each side and a charcoal blanket.
            let housings: Vec<Slab> = b
                .slabs
                .iter()
                .filter(|s| {
                    s.owner == goods_owner
                        && s.material == Material::Steel
                        && s.areal < 40.0
                        && s.y1 - s.y0 > 90.0
                })
                .copied()
                .collect();
            if let Some(h) = housings.first().copied() {
                let w = b.range(35.0, 70.0).min(h.x1 - h.x0 - 20.0);
                let hh = b.range(30.0, 55.0).min(h.y1 - h.y0 - 20.0);
                let x0 = b.range(h.x0 + 8.0, (h.x1 - w - 8.0).max(h.x0 + 9.0));
                let y0 = b.range(h.y0 + 5.0, (h.y1 - hh - 5.0).max(h.y0 + 6.0));
                let depth = b.range(35.0, 70.0);
                let owner = Owner::Concealment(0);
                b.slab(
                    x0,
                    x0 + w,
                    y0,
                    y0 + hh,
                    Material::Cocaine,
                    1.15,
                    depth,
                    owner,
                );
                let plate = b.range(1.5, 4.0);
                let char_depth = b.range(10.0, 25.0);
                b.slab(
                    x0 - 8.0,
                    x0 + w + 8.0,
                    y0 - 8.0,
                    y0 + hh + 8.0,
                    Material::Steel,
                    7.87,
                    plate,
                    Owner::Structure,
                );
                b.slab(
                    x0 - 4.0,
                    x0 + w + 4.0,
                    y0 - 4.0,
                    y0 + hh + 4.0,
                    Material::Charcoal,
                    0.45,
                    char_depth,
                    Owner::Structure,
                );
                concealments.push(Concealment {
                    kind: ConcealmentKind::ShieldedDrugsInMachinery,
                    region: PixelBox::default(),
                    material: Material::Cocaine,
                    mass_kg: 0.0,
                    description: format!(
                        "cocaine bricks inside machinery behind {plate:.1} cm steel and {char_depth:.0} cm charcoal"
                    ),
                });
                set_box(&mut boxes_cm, x0, x0 + w, y0, y0 + hh);
            }
        }
        Some(ConcealmentKind::DrugsInProduce) => {
            let cartons_here: Vec<Slab> = b
                .slabs
                .iter()
                .filter(|s| s.owner == goods_owner && s.material == Material::Water)
                .copied()
                .collect();
            if !cartons_here.is_empty() {
                let first = cartons_here[b.rng.gen_range(0..cartons_here.len())];
                let cw = b.range(60.0, 120.0);
                let ch = b.range(45.0, 80.0);
                let owner = Owner::Concealment(0);
                let depth = b.range(40.0, 90.0);
                let (x0, y0) = (first.x0, first.y0);
                // Bricks displace bananas over their depth: remove that much fruit and add the cocaine.
                b.slabs.push(Slab {
                    x0,
                    x1: x0 + cw,
                    y0,
                    y1: y0 + ch,
                    material: Material::Water,
                    areal: -0.45 * depth,
                    owner: Owner::Goods(0),
                });
                b.slab(
                    x0,
                    x0 + cw,
                    y0,
                    y0 + ch,
                    Material::Cocaine,
                    1.1,
                    depth,
                    owner,
                );
                concealments.push(Concealment {
                    kind: ConcealmentKind::DrugsInProduce,
                    region: PixelBox::default(),
                    material: Material::Cocaine,
                    mass_kg: 0.0,
                    description: format!("cocaine bricks {depth:.0} cm deep among banana cartons"),
                });
                set_box(&mut boxes_cm, x0, x0 + cw, y0, y0 + ch);
            }
        }
        Some(ConcealmentKind::Weapons) => {
            let x0 = b.range(goods_x0 + 20.0, (goods_x1 - 130.0).max(goods_x0 + 21.0));
            let y0 = b.range(goods_y0 + 20.0, goods_y0 + 120.0);
            let owner = Owner::Concealment(0);
            let n = b.rng.gen_range(2..7u32);
            for i in 0..n {
                let y = y0 + 11.0 * f64::from(i);
                if b.rng.gen_bool(0.6) {
                    // Rifle: barrel, receiver and wooden stock.
                    b.slab(
                        x0,
                        x0 + 60.0,
                        y + 4.0,
                        y + 7.0,
                        Material::Steel,
                        7.87,
                        2.5,
                        owner,
                    );
                    b.slab(
                        x0 + 60.0,
                        x0 + 85.0,
                        y + 2.0,
                        y + 10.0,
                        Material::Steel,
                        7.87,
                        4.5,
                        owner,
                    );
                    b.slab(
                        x0 + 85.0,
                        x0 + 115.0,
                        y + 1.0,
                        y + 10.0,
                        Material::Cellulose,
                        0.7,
                        4.0,
                        owner,
                    );
                } else {
                    // Pistol: slide and grip.
                    b.slab(
                        x0,
                        x0 + 20.0,
                        y + 4.0,
                        y + 8.0,
                        Material::Steel,
                        7.87,
                        3.0,
                        owner,
                    );
                    b.slab(
                        x0 + 13.0,
                        x0 + 20.0,
                        y - 6.0,
                        y + 4.0,
                        Material::Steel,
                        7.87,
                        2.5,
                        owner,
                    );
                }
            }
            concealments.push(Concealment {
                kind: ConcealmentKind::Weapons,
                region: PixelBox::default(),
                material: Material::Steel,
                mass_kg: 0.0,
                description: format!("{n} firearms among the goods"),
            });
            let (wx0, wx1, wy0, wy1) = b.slabs.iter().filter(|s| s.owner == owner).fold(
                (f64::MAX, f64::MIN, f64::MAX, f64::MIN),
                |(a, c, d, e), s| (a.min(s.x0), c.max(s.x1), d.min(s.y0), e.max(s.y1)),
            );
            set_box(&mut boxes_cm, wx0, wx1, wy0, wy1);
        }
        _ => {}
    }

    // Masses.
    let goods_mass = b.mass_kg(goods_owner);
    let hidden_mass = b.mass_kg(Owner::Concealment(0));
    for c in &mut concealments {
        c.mass_kg = (hidden_mass * 10.0).round() / 10.0;
    }
    let declared_profile = profile(kind);
    let mut mismatches = Vec::new();
    let mut actual_items = vec![ManifestItem {
        hs_code: declared_profile.hs_code.to_string(),
        description: declared_profile.description.to_string(),
        declared_mass_kg: goods_mass.round(),
        packages: 0,
    }];
    if let Some(c) = concealments.first() {
        let p = match (c.kind, c.material) {
            (ConcealmentKind::People, _) => None,
            (_, Material::Cocaine) => Some(("293979", "cocaine (undeclared)")),
            (_, Material::Cellulose) => Some(("240220", "cigarettes (undeclared)")),
            (_, Material::Steel) => Some(("930200", "firearms (undeclared)")),
            _ => None,
        };
        if let Some((hs, desc)) = p {
            actual_items.push(ManifestItem {
                hs_code: hs.into(),
                description: desc.into(),
                declared_mass_kg: hidden_mass.round(),
                packages: 0,
            });
        }
        mismatches.push(format!("undeclared: {}", c.description));
    }
    let mut declared_mass = goods_mass * b.range(0.97, 1.03);
    if b.rng.gen_bool(0.2) {
        let factor = b.range(0.6, 0.8);
        declared_mass *= factor;
        mismatches.push(format!(
            "declared mass {:.0} kg is {:.0} % of the true goods mass {:.0} kg",
            declared_mass,
            factor * 100.0,
            goods_mass
        ));
    }
    let owner_code = OWNER_CODES[b.rng.gen_range(0..OWNER_CODES.len())];
    let serial = b.rng.gen_range(0..1_000_000u32);
    let prefix = format!("{owner_code}U{serial:06}");
    let container_number = format!("{prefix}{}", iso6346_check_digit(&prefix));
    let high_risk_origin = if planted.is_some() { 0.5 } else { 0.2 };
    let origin = if b.rng.gen_bool(high_risk_origin) {
        ORIGINS[b.rng.gen_range(0..3)]
    } else {
        ORIGINS[b.rng.gen_range(0..ORIGINS.len())]
    };
    let declarant = format!("DCL-{:04}", b.rng.gen_range(1..60u32));
    let packages = (goods_mass / 25.0).round().max(1.0) as u32;
    let manifest = Manifest {
        container_number,
        container_type: container.kind.to_string(),
        declarant_id: declarant,
        origin_country: origin.to_string(),
        items: vec![ManifestItem {
            hs_code: declared_profile.hs_code.to_string(),
            description: declared_profile.description.to_string(),
            declared_mass_kg: declared_mass.round(),
            packages,
        }],
        declared_gross_mass_kg: declared_mass.round(),
    };

    // Render.
    let x_min = -X_MARGIN;
    let x_max = l + X_MARGIN;
    let pitch_x = (x_max - x_min) / f64::from(config.columns);
    let pitch_y = (Y_MAX - Y_MIN) / f64::from(config.rows);
    let to_px = |x: f64, y0: f64, x1: f64, y1: f64| -> PixelBox {
        let cx0 = ((x - x_min) / pitch_x).floor().max(0.0) as u32;
        let cx1 = (((x1 - x_min) / pitch_x).ceil() as u32).min(config.columns);
        let ry0 = ((Y_MAX - y1) / pitch_y).floor().max(0.0) as u32;
        let ry1 = (((Y_MAX - y0) / pitch_y).ceil() as u32).min(config.rows);
        PixelBox {
            x0: cx0,
            y0: ry0,
            x1: cx1,
            y1: ry1,
        }
    };
    for (c, b) in concealments.iter_mut().zip(&boxes_cm) {
        c.region = to_px(b[0], b[2], b[1], b[3]);
    }
    let cargo_space = to_px(8.0, FLOOR_TOP, l - 8.0, CEILING);
    let (high, low) = render(&mut b, config, x_min, pitch_x, pitch_y);
    let truth = GroundTruth {
        seed,
        actual_goods: actual_items,
        actual_cargo_mass_kg: (goods_mass + hidden_mass).round(),
        concealments,
        manifest_mismatches: mismatches,
        columns: config.columns,
        rows: config.rows,
        pitch_x_mm: pitch_x * 10.0,
        pitch_y_mm: pitch_y * 10.0,
        cargo_space,
    };
    Ok(SimScene {
        seed,
        manifest,
        truth,
        high,
        low,
    })
}

/// Records the extent (cm) of the first concealment; later calls refine it.
fn set_box(boxes: &mut Vec<[f64; 4]>, x0: f64, x1: f64, y0: f64, y1: f64) {
    boxes.truncate(0);
    boxes.push([x0, x1, y0, y1]);
}

/// A person as stacked slabs approximating an ellipse, soft tissue about 25 cm deep.
fn person(b: &mut Builder, x0: f64, x1: f64, y0: f64, y1: f64, owner: Owner) {
    let n = 14;
    let cx = (x0 + x1) / 2.0;
    let rx = (x1 - x0) / 2.0;
    let h = (y1 - y0) / f64::from(n);
    for i in 0..n {
        let yc = y0 + (f64::from(i) + 0.5) * h;
        let t = (yc - (y0 + y1) / 2.0) / ((y1 - y0) / 2.0);
        let half = rx * (1.0 - t * t).max(0.0).sqrt();
        let depth = 16.0 + 12.0 * (1.0 - t * t).max(0.0).sqrt();
        b.slab(
            cx - half,
            cx + half,
            y0 + f64::from(i) * h,
            y0 + f64::from(i + 1) * h,
            Material::Water,
            1.02,
            depth,
            owner,
        );
    }
}

/// Rasterises the slabs and applies the source, detector and noise models.
fn render(
    b: &mut Builder,
    config: &SimConfig,
    x_min: f64,
    pitch_x: f64,
    pitch_y: f64,
) -> (Vec<u16>, Vec<u16>) {
    let src = DualEnergySource::linac_6_4();
    let cols = config.columns as usize;
    let rows = config.rows as usize;
    let mut high = vec![0u16; cols * rows];
    let mut low = vec![0u16; cols * rows];
    let mut row_t = vec![[0f32; N_MATERIALS]; cols];
    // Many pixels see the same stack of slabs; cache noiseless transmissions per quantised stack.
    let mut cache: HashMap<[u32; N_MATERIALS], (f64, f64)> = HashMap::new();
    let mut slabs = b.slabs.clone();
    slabs.sort_by(|a, c| a.y1.total_cmp(&c.y1));
    for r in 0..rows {
        let y = Y_MAX - (r as f64 + 0.5) * pitch_y;
        for t in row_t.iter_mut() {
            *t = [0.0; N_MATERIALS];
        }
        for s in slabs.iter().filter(|s| s.y0 <= y && y < s.y1) {
            let c0 = ((s.x0 - x_min) / pitch_x - 0.5).ceil().max(0.0) as usize;
            let c1 = (((s.x1 - x_min) / pitch_x - 0.5).ceil().max(0.0) as usize).min(cols);
            let m = s.material.index();
            for t in row_t[c0.min(cols)..c1].iter_mut() {
                t[m] += s.areal as f32;
            }
        }
        for c in 0..cols {
            let mut key = [0u32; N_MATERIALS];
            for (k, &v) in key.iter_mut().zip(row_t[c].iter()) {
                *k = (v.max(0.0) * 20.0).round() as u32;
            }
            let (th, tl) = *cache.entry(key).or_insert_with(|| {
                let mut t = [0f64; N_MATERIALS];
                for (tv, &k) in t.iter_mut().zip(key.iter()) {
                    *tv = f64::from(k) / 20.0;
                }
                (src.high.transmission(&t), src.low.transmission(&t))
            });
            high[r * cols + c] =
                detect(&mut b.rng, th, config.photons_high, config.electronic_noise);
            low[r * cols + c] = detect(&mut b.rng, tl, config.photons_low, config.electronic_noise);
        }
    }
    (high, low)
}

/// Photon counting with Poisson statistics plus Gaussian electronic noise, encoded as scaled -ln(T).
fn detect(rng: &mut ChaCha8Rng, transmission: f64, photons: f64, electronic: f64) -> u16 {
    let mean = transmission * photons;
    let counts = poisson(rng, mean) + electronic * gaussian(rng);
    let t = (counts.max(0.5)) / photons;
    (-t.ln() * ATTENUATION_SCALE).round().clamp(0.0, 65535.0) as u16
}

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller; u1 in (0, 1] so the log is finite.
    let u1: f64 = 1.0 - rng.r#gen::<f64>();
    let u2: f64 = rng.r#gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    if mean <= 0.0 {
        return 0.0;
    }
    if mean < 40.0 {
        // Knuth's multiplication method: exact, fine for small means.
        let limit = (-mean).exp();
        let mut k = 0.0;
        let mut p: f64 = rng.r#gen::<f64>();
        while p > limit {
            k += 1.0;
            p *= rng.r#gen::<f64>();
        }
        return k;
    }
    // Normal approximation, accurate to well under the noise itself above ~40 counts.
    (mean + mean.sqrt() * gaussian(rng)).round().max(0.0)
}

/// Writes one scene: `<stem>_high.dcs`, `<stem>_low.dcs`, `<stem>.manifest.json`, `<stem>.truth.json`, with
/// stem `scene-<seed>`.
///
/// # Errors
/// [`NiiError::Io`] / [`NiiError::Json`] on write failures, [`NiiError::Write`] if DICOS encoding fails.
pub fn write_scene(scene: &SimScene, out_dir: &Path) -> Result<SceneFiles> {
    std::fs::create_dir_all(out_dir).map_err(|e| NiiError::io(out_dir, e))?;
    let stem = format!("scene-{:06}", scene.seed);
    let uid = |kind: u64| {
        format!(
            "2.25.{}",
            u128::from(scene.seed) * 1000 + u128::from(kind) + 7_000_000_000_000
        )
    };
    let identity = ScanIdentity {
        ooi_id: scene.manifest.container_number.clone(),
        study_instance_uid: uid(1),
        series_instance_uid: uid(2),
        date: "20260101".into(),
        time: "120000".into(),
    };
    let spacing = Some([scene.truth.pitch_y_mm, scene.truth.pitch_x_mm]);
    let mut files = Vec::new();
    for (energy, kvp, pixels, suffix, k) in [
        (Energy::High, 6000.0, &scene.high, "high", 3),
        (Energy::Low, 4000.0, &scene.low, "low", 4),
    ] {
        let bytes = write_dx(
            &identity,
            &DxImage {
                sop_instance_uid: uid(k),
                energy,
                kvp,
                rows: scene.truth.rows,
                columns: scene.truth.columns,
                rescale_slope: 1.0 / ATTENUATION_SCALE,
                pixel_spacing_mm: spacing,
                pixels,
            },
        )?;
        let path = out_dir.join(format!("{stem}_{suffix}.dcs"));
        std::fs::write(&path, bytes).map_err(|e| NiiError::io(&path, e))?;
        files.push(path);
    }
    let manifest = out_dir.join(format!("{stem}.manifest.json"));
    write_json(&manifest, &scene.manifest)?;
    let truth = out_dir.join(format!("{stem}.truth.json"));
    write_json(&truth, &scene.truth)?;
    let low = files.pop().unwrap_or_default();
    let high = files.pop().unwrap_or_default();
    Ok(SceneFiles {
        high,
        low,
        manifest,
        truth,
    })
}

pub(crate) fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| NiiError::json(path, e))?;
    std::fs::write(path, text + "\n").map_err(|e| NiiError::io(path, e))
}

/// Simulates `count` scenes with seeds `seed, seed + 1, ...` at the default 2000x1000 resolution and writes them.
///
/// # Errors
/// As [`generate_scene`] and [`write_scene`].
pub fn simulate(seed: u64, count: u32, out_dir: &Path) -> Result<Vec<SceneFiles>> {
    simulate_with(seed, count, out_dir, &SimConfig::default())
}

/// [`simulate`] with explicit imaging parameters.
///
/// # Errors
/// As [`generate_scene`] and [`write_scene`].
pub fn simulate_with(
    seed: u64,
    count: u32,
    out_dir: &Path,
    config: &SimConfig,
) -> Result<Vec<SceneFiles>> {
    (0..u64::from(count))
        .map(|i| {
            let scene = generate_scene(seed.wrapping_add(i), config)?;
            write_scene(&scene, out_dir)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso6346_check_digit_of_known_number() {
        // CSQU3054383 is the standard's worked example.
        assert_eq!(iso6346_check_digit("CSQU305438"), 3);
    }

    #[test]
    fn poisson_mean_and_variance_are_right() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for mean in [5.0, 200.0] {
            let n = 20_000;
            let xs: Vec<f64> = (0..n).map(|_| poisson(&mut rng, mean)).collect();
            let m = xs.iter().sum::<f64>() / n as f64;
            let v = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / n as f64;
            assert!((m - mean).abs() < 0.05 * mean, "{m}");
            assert!((v - mean).abs() < 0.1 * mean, "{v}");
        }
    }
}
