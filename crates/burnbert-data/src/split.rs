//! Seeded splits and shuffles that every task's data shares, the same on every platform: a
//! train / validation split, an epoch's order, and numpy's permutation (for splits made in
//! Python by the PyTorch references).

/// Splits `examples` (texts, tagged sentences, ...) into `(train, valid)` with `valid_fraction`
/// of them in valid, after a shuffle seeded by `seed` (the same seed gives the same split).
/// With a fraction above 0 and at least two examples, each side keeps at least one: four
/// examples at 0.1 validate on one, not on none.
pub fn split<T>(mut examples: Vec<T>, valid_fraction: f64, seed: u64) -> (Vec<T>, Vec<T>) {
    seeded_shuffle(&mut examples, seed);
    let n = examples.len();
    let mut n_valid = ((n as f64) * valid_fraction).round() as usize;
    if valid_fraction > 0.0 && n >= 2 {
        n_valid = n_valid.clamp(1, n - 1);
    }
    let valid = examples.split_off(n - n_valid.min(n));
    (examples, valid)
}

/// A Fisher-Yates shuffle driven by splitmix64 from `seed`: the same seed, the same order, on
/// every platform.
pub fn seeded_shuffle<T>(items: &mut [T], seed: u64) {
    let mut state = seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    for i in (1..items.len()).rev() {
        let j = (next() % (i as u64 + 1)) as usize;
        items.swap(i, j);
    }
}

/// `numpy.random.RandomState(seed).permutation(n)`: the legacy Mersenne Twister and Fisher-Yates
/// shuffle numpy uses, so that a split made in Python (the PyTorch references' split of the
/// Pang & Lee sentences) is made identically here.
pub fn numpy_permutation(n: usize, seed: u32) -> Vec<usize> {
    let mut mt = Mt19937::new(seed);
    let mut values: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        // numpy's random_interval(i): draw masked 32-bit words until one is <= i.
        let max = i as u32;
        let mut mask = max;
        for shift in [1, 2, 4, 8, 16] {
            mask |= mask >> shift;
        }
        let j = loop {
            let v = mt.next_u32() & mask;
            if v <= max {
                break v as usize;
            }
        };
        values.swap(i, j);
    }
    values
}

/// MT19937, seeded as numpy's legacy `RandomState(int)` seeds it (`init_genrand`).
struct Mt19937 {
    state: [u32; 624],
    index: usize,
}

impl Mt19937 {
    fn new(seed: u32) -> Self {
        let mut state = [0u32; 624];
        state[0] = seed;
        for i in 1..624 {
            state[i] = 1_812_433_253u32
                .wrapping_mul(state[i - 1] ^ (state[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        Self { state, index: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.index >= 624 {
            for i in 0..624 {
                let y = (self.state[i] & 0x8000_0000) | (self.state[(i + 1) % 624] & 0x7fff_ffff);
                let mut next = self.state[(i + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    next ^= 0x9908_b0df;
                }
                self.state[i] = next;
            }
            self.index = 0;
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_permutation_matches_numpy() {
        // numpy.random.RandomState(0).permutation(10), (4000)[:8] and [-5:], RandomState(42).permutation(7)
        assert_eq!(numpy_permutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
        let p = numpy_permutation(4000, 0);
        assert_eq!(p[..8], [2230, 668, 3616, 2363, 142, 538, 1791, 410]);
        assert_eq!(p[3995..], [835, 3264, 1653, 2607, 2732]);
        assert_eq!(numpy_permutation(7, 42), [0, 1, 5, 2, 4, 3, 6]);
    }

    #[test]
    fn seeded_split_is_reproducible_and_complete() {
        let examples: Vec<String> = (0..10).map(|i| format!("t{i}")).collect();
        let (a, b) = split(examples.clone(), 0.2, 7);
        let (c, d) = split(examples.clone(), 0.2, 7);
        assert_eq!((a.len(), b.len()), (8, 2));
        assert_eq!((&a, &b), (&c, &d));
        let (e, _) = split(examples.clone(), 0.2, 8);
        // Small sets keep one example on each side.
        let (train, valid) = split(examples[..4].to_vec(), 0.1, 0);
        assert_eq!((train.len(), valid.len()), (3, 1));
        let (train, valid) = split(examples[..2].to_vec(), 0.9, 0);
        assert_eq!((train.len(), valid.len()), (1, 1));
        assert_ne!(a, e);
    }
}
