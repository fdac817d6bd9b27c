//! A small deterministic generator (Marsaglia's xorshift64, shifts 13/7/17), so hash layouts, bootstrap
//! rounds and test data are the same on every run without a random-number dependency.

/// xorshift64 state; never zero.
pub(crate) struct XorShift64(u64);

impl XorShift64 {
    /// A generator from `seed` (a zero seed is replaced, as zero is the one state xorshift cannot leave).
    pub(crate) fn new(seed: u64) -> Self {
        Self(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 pseudo-random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
