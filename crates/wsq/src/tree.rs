//! Subband geometry: where each of the 64 subbands of the WSQ decomposition lies in the image plane.
//!
//! WSQ spec Part 1 (subband decomposition figures) decomposes the image with a fixed tree of two-dimensional splits. Every split cuts a
//! rectangle into a lowpass and a highpass half along x and along y. For a half of odd length the lowpass half is the
//! longer one, except where the rectangle being split is itself the highpass output of its parent split in that
//! direction ("spectral inversion"): there the highpass half comes first and the shorter half is first.
//!
//! The 20 split nodes are numbered as in the spec figure; the 64 subbands in the order the quantized coefficients
//! are transmitted (Part 1, subband numbering). Subbands 60–63 (the highpass/highpass quadrant of the first split) are never
//! coded.

/// A rectangle of the coefficient plane, in samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Rect {
    pub x: usize,
    pub y: usize,
    pub w: usize,
    pub h: usize,
}

impl Rect {
    pub fn area(&self) -> usize {
        self.w * self.h
    }
}

/// One two-dimensional split of the decomposition tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Node {
    pub rect: Rect,
    /// The highpass half comes first along x.
    pub inv_x: bool,
    /// The highpass half comes first along y.
    pub inv_y: bool,
}

/// Number of split nodes.
pub(crate) const N_NODES: usize = 20;
/// Number of subbands that carry coefficients (0..60).
pub(crate) const N_CODED_SUBBANDS: usize = 60;
/// First subband of the second and third Huffman-coded blocks (Part 3).
pub(crate) const BLOCK_STARTS: [usize; 4] = [0, 19, 52, 60];

/// The whole decomposition for one image size.
#[derive(Debug, Clone)]
pub(crate) struct Trees {
    pub nodes: [Node; N_NODES],
    pub subbands: [Rect; 64],
}

/// Lengths of the two halves of a split of `len` samples: lowpass half first unless `inverted`.
fn halves(len: usize, inverted: bool) -> (usize, usize) {
    let (long, short) = (len - len / 2, len / 2);
    if inverted {
        (short, long)
    } else {
        (long, short)
    }
}

/// The four quarters of a split, in the order top-left, top-right, bottom-left, bottom-right.
fn quarters(rect: Rect, inv_x: bool, inv_y: bool) -> [Rect; 4] {
    let (w0, w1) = halves(rect.w, inv_x);
    let (h0, h1) = halves(rect.h, inv_y);
    [
        Rect {
            x: rect.x,
            y: rect.y,
            w: w0,
            h: h0,
        },
        Rect {
            x: rect.x + w0,
            y: rect.y,
            w: w1,
            h: h0,
        },
        Rect {
            x: rect.x,
            y: rect.y + h0,
            w: w0,
            h: h1,
        },
        Rect {
            x: rect.x + w0,
            y: rect.y + h0,
            w: w1,
            h: h1,
        },
    ]
}

/// The four children of a split node. A child is inverted along x when it is the right (x-highpass) quarter and
/// along y when it is the bottom (y-highpass) quarter.
fn children(node: Node) -> [Node; 4] {
    let q = quarters(node.rect, node.inv_x, node.inv_y);
    [
        Node {
            rect: q[0],
            inv_x: false,
            inv_y: false,
        },
        Node {
            rect: q[1],
            inv_x: true,
            inv_y: false,
        },
        Node {
            rect: q[2],
            inv_x: false,
            inv_y: true,
        },
        Node {
            rect: q[3],
            inv_x: true,
            inv_y: true,
        },
    ]
}

/// Subbands of a leaf split node.
fn leaf_subbands(node: Node) -> [Rect; 4] {
    quarters(node.rect, node.inv_x, node.inv_y)
}

impl Trees {
    /// Builds the decomposition of a `width` x `height` image (Part 1, subband decomposition).
    pub fn new(width: usize, height: usize) -> Trees {
        let mut nodes = [Node::default(); N_NODES];
        let mut subbands = [Rect::default(); 64];
        nodes[0] = Node {
            rect: Rect {
                x: 0,
                y: 0,
                w: width,
                h: height,
            },
            inv_x: false,
            inv_y: false,
        };
        let [c1, c2, c3, c_hh] = children(nodes[0]);
        nodes[1] = c1;
        nodes[2] = c2;
        nodes[3] = c3;
        let [c14, c4, c5, c51] = children(nodes[1]);
        nodes[14] = c14;
        nodes[4] = c4;
        nodes[5] = c5;
        let [c6, c7, c8, c9] = children(nodes[4]);
        nodes[6..10].copy_from_slice(&[c6, c7, c8, c9]);
        let [c10, c11, c12, c13] = children(nodes[5]);
        nodes[10..14].copy_from_slice(&[c10, c11, c12, c13]);
        let [c15, c16, c17, c18] = children(nodes[14]);
        nodes[15..19].copy_from_slice(&[c15, c16, c17, c18]);
        let [c19, s4, s5, s6] = children(nodes[15]);
        nodes[19] = c19;

        subbands[0..4].copy_from_slice(&leaf_subbands(nodes[19]));
        subbands[4] = s4.rect;
        subbands[5] = s5.rect;
        subbands[6] = s6.rect;
        // Subband numbering: 7..51 walk the level-3 nodes of the lowpass quadrant in this order.
        let level3 = [16, 17, 18, 6, 7, 8, 9, 10, 11, 12, 13];
        for (chunk, &node_idx) in subbands[7..51].chunks_mut(4).zip(&level3) {
            if let Some(&node) = nodes.get(node_idx) {
                chunk.copy_from_slice(&leaf_subbands(node));
            }
        }
        subbands[51] = c51.rect;
        subbands[52..56].copy_from_slice(&leaf_subbands(nodes[2]));
        subbands[56..60].copy_from_slice(&leaf_subbands(nodes[3]));
        subbands[60..64].copy_from_slice(&leaf_subbands(c_hh));
        Trees { nodes, subbands }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subbands_tile_the_coded_area_exactly() {
        for (w, h) in [(804, 752), (545, 622), (33, 47), (256, 256), (1, 1), (7, 3)] {
            let trees = Trees::new(w, h);
            let mut seen = vec![0u8; w * h];
            for r in &trees.subbands {
                for y in r.y..r.y + r.h {
                    for x in r.x..r.x + r.w {
                        seen[y * w + x] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "{w}x{h}");
        }
    }

    #[test]
    fn odd_sizes_follow_spectral_inversion() {
        let trees = Trees::new(549, 622);
        // First split: lowpass half is the longer one.
        assert_eq!(trees.nodes[1].rect.w, 275);
        assert_eq!(trees.nodes[2].rect.w, 274);
        // Node 4 is the x-highpass of node 1 (275 -> 138 + 137): its own x split puts the short half first.
        assert_eq!(trees.nodes[4].rect.w, 137);
        assert_eq!(trees.nodes[6].rect.w, 68);
        assert_eq!(trees.nodes[7].rect.w, 69);
        // Node 14 is not inverted: the long half first.
        assert_eq!(trees.nodes[14].rect.w, 138);
        assert_eq!(trees.nodes[15].rect.w, 69);
        let t = Trees::new(804, 752);
        assert_eq!(
            t.subbands[0],
            Rect {
                x: 0,
                y: 0,
                w: 26,
                h: 24
            }
        );
        assert_eq!(
            t.subbands[51],
            Rect {
                x: 201,
                y: 188,
                w: 201,
                h: 188
            }
        );
    }
}
