//! Scaled inverse DCTs: an 8x8 block of JPEG coefficients to an NxN block of pixels,
//! N from 1 to 16: the block's continuous cosine series sampled at the centres of an
//! NxN grid, from its low min(N, 8) frequencies. This is what libjpeg's own scaled IDCTs
//! compute (its 2x2 and 4x4 use an older, slower method), but libjpeg, built without
//! SIMD, does it in scalar integer code that reads every coefficient, even when (as in
//! most blocks) only a corner is non-zero.
//!
//! On x86-64, [`sse2::idct`] runs both passes in `f32` with SSE2 (part of every x86-64
//! CPU, so no runtime detection) and, above 4x4, skips the rows and columns that are all
//! zero; elsewhere the portable [`idct`]. Output is rounded and clamped like libjpeg's,
//! to within one level of the exact formula.

/// `basis[u][x] = C(u)/2 * cos((2x + 1) u pi / 2N)` for the eight frequencies `u`
/// (`C(0) = 1/sqrt(2)`, else 1; zero for `u >= N`, which an NxN block cannot hold): the
/// weight of frequency `u` at output sample `x`, normalised as JPEG's IDCT so that a
/// block's DC gives its mean whatever N.
pub struct Basis<const N: usize>(pub [[f32; N]; 8]);

impl<const N: usize> Basis<N> {
    pub fn new() -> Self {
        let mut basis = [[0.0; N]; 8];
        for (u, row) in basis.iter_mut().enumerate().take(N) {
            let weight = if u == 0 { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 } / 2.0;
            for (x, value) in row.iter_mut().enumerate() {
                let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * N) as f64;
                *value = (weight * angle.cos()) as f32;
            }
        }
        Basis(basis)
    }
}

/// The NxN pixels of one block: `coefficients` and `quant` in natural (row-major) order.
#[cfg_attr(target_arch = "x86_64", allow(dead_code, reason = "used on other architectures, and by the tests"))]
pub fn idct<const N: usize>(coefficients: &[i16; 64], quant: &[u16; 64], basis: &Basis<N>) -> [[u8; N]; N] {
    let used = N.min(8);
    // Along each row: horizontal[v][x] = sum over u of coefficient[v][u] * basis[u][x].
    let mut horizontal = [[0.0f32; N]; 8];
    for (v, out) in horizontal.iter_mut().enumerate().take(used) {
        for (u, weights) in basis.0.iter().enumerate().take(used) {
            let value = f32::from(coefficients[v * 8 + u]) * f32::from(quant[v * 8 + u]);
            for (sum, weight) in out.iter_mut().zip(weights) {
                *sum += value * weight;
            }
        }
    }
    // Down each column, then level shift (+128), round and clamp.
    std::array::from_fn(|y| {
        std::array::from_fn(|x| {
            let sum: f32 = horizontal.iter().zip(&basis.0).take(used).map(|(row, weights)| weights[y] * row[x]).sum();
            (sum + 128.0).round().clamp(0.0, 255.0) as u8
        })
    })
}

/// The same transforms with SSE2 intrinsics: a row of up to 4V pixels is V `f32x4`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, reason = "calls #[target_feature(enable = \"sse2\")] functions, sound on every x86-64 CPU")]
pub mod sse2 {
    use std::arch::x86_64::*;

    use super::Basis;

    /// A basis laid out for the two passes: `rows[u]` is frequency `u` at outputs
    /// 0..4V (zero-padded), `basis[v][y]` the weight of frequency `v` at output `y`.
    pub struct Tables<const N: usize, const V: usize> {
        rows: [[[f32; 4]; V]; 8],
        basis: [[f32; N]; 8],
    }

    impl<const N: usize, const V: usize> Tables<N, V> {
        pub fn new() -> Self {
            assert!(N <= 4 * V, "{V} vectors hold at most {} pixels, not {N}", 4 * V);
            let basis = Basis::<N>::new().0;
            let rows =
                std::array::from_fn(|u| std::array::from_fn(|w| std::array::from_fn(|i| basis[u].get(4 * w + i).copied().unwrap_or(0.0))));
            Tables { rows, basis }
        }
    }

    /// See [`super::idct`]; the same result within one level.
    pub fn idct<const N: usize, const V: usize>(coefficients: &[i16; 64], quant: &[u16; 64], tables: &Tables<N, V>) -> [[u8; N]; N] {
        // SAFETY: SSE2 is part of x86-64; every x86-64 CPU has it.
        unsafe { idct_sse2(coefficients, quant, tables) }
    }

    #[target_feature(enable = "sse2")]
    fn four(values: &[f32; 4]) -> __m128 {
        _mm_setr_ps(values[0], values[1], values[2], values[3])
    }

    /// Row `v` of the block: its eight coefficients, and them times their steps as
    /// lanes 0-3 and 4-7.
    #[target_feature(enable = "sse2")]
    fn dequantise_row(coefficients: &[i16; 64], quant: &[u16; 64], v: usize) -> (__m128i, [__m128; 2]) {
        let c: &[i16; 8] = coefficients[v * 8..][..8].try_into().unwrap_or(&[0; 8]);
        let q: &[u16; 8] = quant[v * 8..][..8].try_into().unwrap_or(&[0; 8]);
        let c = _mm_setr_epi16(c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]);
        let q = _mm_setr_epi16(q[0] as i16, q[1] as i16, q[2] as i16, q[3] as i16, q[4] as i16, q[5] as i16, q[6] as i16, q[7] as i16);
        let zero = _mm_setzero_si128();
        // Sign-extend the coefficients, zero-extend the steps (they are unsigned).
        let low = _mm_mul_ps(_mm_cvtepi32_ps(_mm_srai_epi32::<16>(_mm_unpacklo_epi16(c, c))), _mm_cvtepi32_ps(_mm_unpacklo_epi16(q, zero)));
        let high =
            _mm_mul_ps(_mm_cvtepi32_ps(_mm_srai_epi32::<16>(_mm_unpackhi_epi16(c, c))), _mm_cvtepi32_ps(_mm_unpackhi_epi16(q, zero)));
        (c, [low, high])
    }

    /// Lane `u` (0-3) of `row` in all four lanes.
    #[target_feature(enable = "sse2")]
    fn lane(row: __m128, u: usize) -> __m128 {
        match u & 3 {
            0 => _mm_shuffle_ps::<0x00>(row, row),
            1 => _mm_shuffle_ps::<0x55>(row, row),
            2 => _mm_shuffle_ps::<0xAA>(row, row),
            _ => _mm_shuffle_ps::<0xFF>(row, row),
        }
    }

    /// Rounded (to nearest) and clamped to 0..=255, then packed to bytes: the lanes of
    /// `low`, then of `high`.
    #[target_feature(enable = "sse2")]
    fn to_bytes(low: __m128, high: __m128) -> [u8; 8] {
        let (floor, ceiling) = (_mm_setzero_ps(), _mm_set1_ps(255.0));
        let low = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(low, floor), ceiling));
        let high = _mm_cvtps_epi32(_mm_min_ps(_mm_max_ps(high, floor), ceiling));
        let words = _mm_packs_epi32(low, high);
        _mm_cvtsi128_si64(_mm_packus_epi16(words, words)).to_le_bytes()
    }

    #[target_feature(enable = "sse2")]
    fn idct_sse2<const N: usize, const V: usize>(coefficients: &[i16; 64], quant: &[u16; 64], tables: &Tables<N, V>) -> [[u8; N]; N] {
        let zero = _mm_setzero_si128();
        // Only the low min(N, 8) frequencies count; two mask bits per 16-bit lane.
        let used_lanes: u32 = (1 << (2 * N.min(8))) - 1;
        let mut dequantised = [[_mm_setzero_ps(); 2]; 8];
        let mut seen = zero;
        let mut rows = 0;
        for (v, out) in dequantised.iter_mut().enumerate().take(N.min(8)) {
            let (row, values) = dequantise_row(coefficients, quant, v);
            *out = values;
            seen = _mm_or_si128(seen, row);
            if !(_mm_movemask_epi8(_mm_cmpeq_epi16(row, zero)) as u32) & used_lanes != 0 {
                rows = v + 1;
            }
        }
        // The highest non-zero column bounds the pass along rows. Up to 4x4, a fixed
        // number of rows and columns (loops the compiler unrolls) is faster than skipping.
        let non_zero = !(_mm_movemask_epi8(_mm_cmpeq_epi16(seen, zero)) as u32) & used_lanes;
        let mut columns = (32 - non_zero.leading_zeros()).div_ceil(2) as usize;
        if N <= 4 {
            (rows, columns) = (N, N);
        }
        let mut horizontal = [[_mm_setzero_ps(); V]; 8];
        for (out, row) in horizontal.iter_mut().zip(&dequantised).take(rows) {
            for (u, weights) in tables.rows.iter().enumerate() {
                if u == columns {
                    break;
                }
                let value = lane(row[u / 4], u);
                for (sum, weight) in out.iter_mut().zip(weights) {
                    *sum = _mm_add_ps(*sum, _mm_mul_ps(value, four(weight)));
                }
            }
        }
        let mut pixels = [[0u8; N]; N];
        for (y, out) in pixels.iter_mut().enumerate() {
            let mut sums = [_mm_set1_ps(128.0); V];
            for (v, row) in horizontal.iter().enumerate().take(rows) {
                let weight = _mm_set1_ps(tables.basis[v][y]);
                for (sum, value) in sums.iter_mut().zip(row) {
                    *sum = _mm_add_ps(*sum, _mm_mul_ps(weight, *value));
                }
            }
            let mut bytes = [0u8; 16];
            for (pair, chunk) in sums.chunks(2).zip(bytes.chunks_exact_mut(8)) {
                chunk.copy_from_slice(&to_bytes(pair[0], pair[pair.len() - 1]));
            }
            out.copy_from_slice(&bytes[..N]);
        }
        pixels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The textbook NxN-from-8x8 formula in f64, one output at a time.
    fn reference<const N: usize>(coefficients: &[i16; 64], quant: &[u16; 64]) -> [[u8; N]; N] {
        let c = |k: usize| if k == 0 { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 };
        let cos = |k: usize, at: usize| ((2 * at + 1) as f64 * k as f64 * std::f64::consts::PI / (2 * N) as f64).cos();
        std::array::from_fn(|y| {
            std::array::from_fn(|x| {
                let mut sum = 0.0;
                for v in 0..N.min(8) {
                    for u in 0..N.min(8) {
                        let value = f64::from(coefficients[v * 8 + u]) * f64::from(quant[v * 8 + u]);
                        sum += c(u) * c(v) / 4.0 * value * cos(u, x) * cos(v, y);
                    }
                }
                (sum + 128.0).round().clamp(0.0, 255.0) as u8
            })
        })
    }

    fn block(seed: u64, density: usize) -> ([i16; 64], [u16; 64]) {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut coefficients = [0i16; 64];
        for (index, value) in coefficients.iter_mut().enumerate() {
            if index == 0 || rng.usize(..64) < density {
                *value = rng.i16(-60..60);
            }
        }
        let quant = std::array::from_fn(|index| 2 + (index as u16) / 2);
        (coefficients, quant)
    }

    fn within_one<const N: usize>(a: [[u8; N]; N], b: [[u8; N]; N]) -> bool {
        a.iter().flatten().zip(b.iter().flatten()).all(|(a, b)| a.abs_diff(*b) <= 1)
    }

    /// Both implementations against the formula at size N (V vectors a row for SSE2).
    fn check<const N: usize, const V: usize>(coefficients: &[i16; 64], quant: &[u16; 64], seed: u64) {
        let expected = reference::<N>(coefficients, quant);
        assert!(within_one(idct(coefficients, quant, &Basis::<N>::new()), expected), "{N}x{N}, seed {seed}");
        #[cfg(target_arch = "x86_64")]
        assert!(within_one(sse2::idct(coefficients, quant, &sse2::Tables::<N, V>::new()), expected), "sse2 {N}x{N}, seed {seed}");
    }

    #[test]
    fn matches_the_formula_at_every_size_sparse_and_dense() {
        for seed in 0..100 {
            let (coefficients, quant) = block(seed, [2, 16, 64][seed as usize % 3]);
            check::<2, 1>(&coefficients, &quant, seed);
            check::<3, 1>(&coefficients, &quant, seed);
            check::<4, 1>(&coefficients, &quant, seed);
            check::<5, 2>(&coefficients, &quant, seed);
            check::<6, 2>(&coefficients, &quant, seed);
            check::<7, 2>(&coefficients, &quant, seed);
            check::<8, 2>(&coefficients, &quant, seed);
            check::<10, 3>(&coefficients, &quant, seed);
            check::<12, 3>(&coefficients, &quant, seed);
            check::<14, 4>(&coefficients, &quant, seed);
        }
    }

    #[test]
    fn a_dc_block_is_its_mean_at_every_size_and_clamps() {
        let mut coefficients = [0i16; 64];
        let quant = [1u16; 64];
        coefficients[0] = 8 * 50; // mean 50 above mid-grey
        assert_eq!(idct(&coefficients, &quant, &Basis::<4>::new()), [[178; 4]; 4]);
        coefficients[0] = i16::MAX;
        assert_eq!(idct(&coefficients, &[u16::MAX; 64], &Basis::<2>::new()), [[255; 2]; 2], "no overflow");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(sse2::idct(&coefficients, &[u16::MAX; 64], &sse2::Tables::<8, 2>::new()), [[255; 8]; 8], "no overflow");
            assert_eq!(sse2::idct(&coefficients, &[u16::MAX; 64], &sse2::Tables::<10, 3>::new()), [[255; 10]; 10]);
        }
        coefficients[0] = i16::MIN;
        assert_eq!(idct(&coefficients, &quant, &Basis::<2>::new()), [[0; 2]; 2]);
    }

    #[test]
    fn high_frequencies_do_not_reach_a_smaller_block() {
        let quant = [1u16; 64];
        let mut coefficients = [0i16; 64];
        coefficients[7 * 8 + 7] = 500;
        coefficients[5] = 300;
        assert_eq!(idct(&coefficients, &quant, &Basis::<4>::new()), [[128; 4]; 4]);
        #[cfg(target_arch = "x86_64")]
        assert_eq!(sse2::idct(&coefficients, &quant, &sse2::Tables::<4, 1>::new()), [[128; 4]; 4]);
    }
}
