//! Scaled inverse DCTs: an 8x8 block of JPEG coefficients to an NxN block of pixels
//! (N = 2, 4, 8) from its low NxN coefficients, the block's continuous cosine series
//! sampled at the centres of an NxN grid. This is how libjpeg's 3x3, 5x5, 6x6 and 7x7
//! scaled IDCTs work; its 2x2 and 4x4 use an older, slower method, and its 8x8 reads all
//! 64 coefficients even when (as in most chroma blocks) only a corner is non-zero.
//!
//! Both passes run in `f32`, skipping the rows and columns that are all zero. On x86-64
//! the 4x4 and 8x8 use SSE2 (part of every x86-64 CPU, so no runtime detection);
//! elsewhere, and for 2x2, the portable [`idct`]. Output is rounded and clamped like
//! libjpeg's, to within one level of the exact formula.

use std::sync::LazyLock;

/// `basis[u][x] = C(u)/2 * cos((2x + 1) u pi / 2N)`, `C(0) = 1/sqrt(2)`, else 1: the
/// weight of frequency `u` at output sample `x` (JPEG's IDCT normalisation, so that a
/// block's DC gives its mean whatever N).
pub struct Basis<const N: usize>(pub [[f32; N]; N]);

impl<const N: usize> Basis<N> {
    fn new() -> Self {
        let mut basis = [[0.0; N]; N];
        for (u, row) in basis.iter_mut().enumerate() {
            let weight = if u == 0 { std::f64::consts::FRAC_1_SQRT_2 } else { 1.0 } / 2.0;
            for (x, value) in row.iter_mut().enumerate() {
                let angle = (2 * x + 1) as f64 * u as f64 * std::f64::consts::PI / (2 * N) as f64;
                *value = (weight * angle.cos()) as f32;
            }
        }
        Basis(basis)
    }
}

pub static BASIS_2: LazyLock<Basis<2>> = LazyLock::new(Basis::new);
#[cfg(any(test, not(target_arch = "x86_64")))]
pub static BASIS_4: LazyLock<Basis<4>> = LazyLock::new(Basis::new);
#[cfg(any(test, not(target_arch = "x86_64")))]
pub static BASIS_8: LazyLock<Basis<8>> = LazyLock::new(Basis::new);

/// The NxN pixels of one block: `coefficients` and `quant` in natural (row-major) order.
pub fn idct<const N: usize>(coefficients: &[i16; 64], quant: &[u16; 64], basis: &Basis<N>) -> [[u8; N]; N] {
    // Dequantise the low NxN corner, noting how far the non-zero values reach (without
    // a branch per coefficient: most are zero, but which ones is unpredictable).
    let mut dequantised = [[0.0f32; N]; N];
    let mut columns_seen = [0i16; N];
    let mut rows = 0;
    for (v, out) in dequantised.iter_mut().enumerate() {
        let row: &[i16; N] = coefficients[v * 8..][..N].try_into().unwrap_or(&[0; N]);
        let steps: &[u16; N] = quant[v * 8..][..N].try_into().unwrap_or(&[0; N]);
        *out = std::array::from_fn(|u| f32::from(row[u]) * f32::from(steps[u]));
        columns_seen = std::array::from_fn(|u| columns_seen[u] | row[u]);
        rows = if row.iter().fold(0, |seen, &value| seen | value) != 0 { v + 1 } else { rows };
    }
    let columns = columns_seen.iter().rposition(|&seen| seen != 0).map_or(0, |last| last + 1);
    // Along each row: horizontal[v][x] = sum over u of dequantised[v][u] * basis[u][x].
    let mut horizontal = [[0.0f32; N]; N];
    for (out, row) in horizontal.iter_mut().zip(&dequantised).take(rows) {
        for (&value, weights) in row.iter().zip(&basis.0).take(columns) {
            for (sum, weight) in out.iter_mut().zip(weights) {
                *sum += value * weight;
            }
        }
    }
    // Down each column, then level shift (+128), clamp and round: adding 2^23 to a value
    // in 0..=255 leaves it, rounded to nearest, in the low bits of the float's mantissa
    // (a conversion the compiler can do for a whole row at once).
    let mut pixels = [[0u8; N]; N];
    for (y, out) in pixels.iter_mut().enumerate() {
        let mut sums = [128.0f32; N];
        for (row, weights) in horizontal.iter().zip(&basis.0).take(rows) {
            let weight = weights[y];
            for (sum, value) in sums.iter_mut().zip(row) {
                *sum += weight * value;
            }
        }
        *out = std::array::from_fn(|x| {
            let sum = sums[x];
            let clamped = if sum > 255.0 {
                255.0
            } else if sum > 0.0 {
                sum
            } else {
                0.0
            };
            ((clamped + 8_388_608.0).to_bits() & 0xFF) as u8
        });
    }
    pixels
}

/// 4x4 and 8x8 with SSE2 intrinsics: a row of pixels is one or two `f32x4`.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code, reason = "calls #[target_feature(enable = \"sse2\")] functions, sound on every x86-64 CPU")]
pub mod sse2 {
    use std::arch::x86_64::*;
    use std::sync::LazyLock;

    use super::Basis;

    /// A basis laid out for the two passes: `rows[u]` is frequency `u` at outputs 0-7
    /// (zero-padded), `basis[v][y]` the weight of frequency `v` at output `y`.
    pub struct Tables<const N: usize> {
        rows: [[f32; 8]; N],
        basis: [[f32; N]; N],
    }

    impl<const N: usize> Tables<N> {
        fn new() -> Self {
            let basis = Basis::<N>::new().0;
            Tables { rows: std::array::from_fn(|u| std::array::from_fn(|x| basis[u].get(x).copied().unwrap_or(0.0))), basis }
        }
    }

    pub static TABLES_4: LazyLock<Tables<4>> = LazyLock::new(Tables::new);
    pub static TABLES_8: LazyLock<Tables<8>> = LazyLock::new(Tables::new);

    /// See [`super::idct`]; the same result within rounding.
    pub fn idct_4x4(coefficients: &[i16; 64], quant: &[u16; 64]) -> [[u8; 4]; 4] {
        // SAFETY: SSE2 is part of x86-64; every x86-64 CPU has it.
        unsafe { idct_4x4_sse2(coefficients, quant, &TABLES_4) }
    }

    /// See [`super::idct`]; the same result within rounding.
    pub fn idct_8x8(coefficients: &[i16; 64], quant: &[u16; 64]) -> [[u8; 8]; 8] {
        // SAFETY: SSE2 is part of x86-64; every x86-64 CPU has it.
        unsafe { idct_8x8_sse2(coefficients, quant, &TABLES_8) }
    }

    #[target_feature(enable = "sse2")]
    fn four(values: &[f32]) -> __m128 {
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
    fn idct_4x4_sse2(coefficients: &[i16; 64], quant: &[u16; 64], tables: &Tables<4>) -> [[u8; 4]; 4] {
        let rows: [__m128; 4] = [four(&tables.rows[0]), four(&tables.rows[1]), four(&tables.rows[2]), four(&tables.rows[3])];
        let mut horizontal = [_mm_setzero_ps(); 4];
        for (v, out) in horizontal.iter_mut().enumerate() {
            let (_, [row, _]) = dequantise_row(coefficients, quant, v);
            let mut sum = _mm_mul_ps(lane(row, 0), rows[0]);
            for (u, weights) in rows.iter().enumerate().skip(1) {
                sum = _mm_add_ps(sum, _mm_mul_ps(lane(row, u), *weights));
            }
            *out = sum;
        }
        let mut pixels = [[0u8; 4]; 4];
        for (y, out) in pixels.iter_mut().enumerate() {
            let mut sum = _mm_set1_ps(128.0);
            for (v, row) in horizontal.iter().enumerate() {
                sum = _mm_add_ps(sum, _mm_mul_ps(_mm_set1_ps(tables.basis[v][y]), *row));
            }
            let bytes = to_bytes(sum, sum);
            *out = [bytes[0], bytes[1], bytes[2], bytes[3]];
        }
        pixels
    }

    #[target_feature(enable = "sse2")]
    fn idct_8x8_sse2(coefficients: &[i16; 64], quant: &[u16; 64], tables: &Tables<8>) -> [[u8; 8]; 8] {
        let zero = _mm_setzero_si128();
        let mut dequantised = [[_mm_setzero_ps(); 2]; 8];
        let mut seen = zero;
        let mut rows = 0;
        for (v, out) in dequantised.iter_mut().enumerate() {
            let (row, values) = dequantise_row(coefficients, quant, v);
            *out = values;
            seen = _mm_or_si128(seen, row);
            if _mm_movemask_epi8(_mm_cmpeq_epi16(row, zero)) != 0xFFFF {
                rows = v + 1;
            }
        }
        // Two mask bits per column; the highest non-zero column bounds the row pass.
        let non_zero = !(_mm_movemask_epi8(_mm_cmpeq_epi16(seen, zero)) as u32) & 0xFFFF;
        let columns = (32 - non_zero.leading_zeros()).div_ceil(2) as usize;
        let mut horizontal = [[_mm_setzero_ps(); 2]; 8];
        for (out, row) in horizontal.iter_mut().zip(&dequantised).take(rows) {
            let mut sums = [_mm_setzero_ps(); 2];
            for (u, weights) in tables.rows.iter().enumerate() {
                if u == columns {
                    break;
                }
                let value = lane(row[u / 4], u);
                sums[0] = _mm_add_ps(sums[0], _mm_mul_ps(value, four(&weights[..4])));
                sums[1] = _mm_add_ps(sums[1], _mm_mul_ps(value, four(&weights[4..])));
            }
            *out = sums;
        }
        let mut pixels = [[0u8; 8]; 8];
        for (y, out) in pixels.iter_mut().enumerate() {
            let mut sums = [_mm_set1_ps(128.0); 2];
            for (v, row) in horizontal.iter().enumerate().take(rows) {
                let weight = _mm_set1_ps(tables.basis[v][y]);
                sums[0] = _mm_add_ps(sums[0], _mm_mul_ps(weight, row[0]));
                sums[1] = _mm_add_ps(sums[1], _mm_mul_ps(weight, row[1]));
            }
            *out = to_bytes(sums[0], sums[1]);
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
        let mut out = [[0u8; N]; N];
        for (y, row) in out.iter_mut().enumerate() {
            for (x, pixel) in row.iter_mut().enumerate() {
                let mut sum = 0.0;
                for v in 0..N {
                    for u in 0..N {
                        let value = f64::from(coefficients[v * 8 + u]) * f64::from(quant[v * 8 + u]);
                        let cos = |k: usize, at: usize| ((2 * at + 1) as f64 * k as f64 * std::f64::consts::PI / (2 * N) as f64).cos();
                        sum += c(u) * c(v) / 4.0 * value * cos(u, x) * cos(v, y);
                    }
                }
                *pixel = (sum + 128.0).round().clamp(0.0, 255.0) as u8;
            }
        }
        out
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

    #[test]
    fn matches_the_formula_sparse_and_dense() {
        for seed in 0..200 {
            let (coefficients, quant) = block(seed, [2, 16, 64][seed as usize % 3]);
            assert!(within_one(idct(&coefficients, &quant, &BASIS_8), reference::<8>(&coefficients, &quant)), "8x8, seed {seed}");
            assert!(within_one(idct(&coefficients, &quant, &BASIS_4), reference::<4>(&coefficients, &quant)), "4x4, seed {seed}");
            assert!(within_one(idct(&coefficients, &quant, &BASIS_2), reference::<2>(&coefficients, &quant)), "2x2, seed {seed}");
            #[cfg(target_arch = "x86_64")]
            {
                let (fast_4, fast_8) = (sse2::idct_4x4(&coefficients, &quant), sse2::idct_8x8(&coefficients, &quant));
                assert!(within_one(fast_4, reference::<4>(&coefficients, &quant)), "sse2 4x4, seed {seed}");
                assert!(within_one(fast_8, reference::<8>(&coefficients, &quant)), "sse2 8x8, seed {seed}");
            }
        }
    }

    #[test]
    fn a_dc_block_is_its_mean_at_every_size_and_clamps() {
        let mut coefficients = [0i16; 64];
        let quant = [1u16; 64];
        coefficients[0] = 8 * 50; // mean 50 above mid-grey
        assert_eq!(idct(&coefficients, &quant, &BASIS_8), [[178; 8]; 8]);
        assert_eq!(idct(&coefficients, &quant, &BASIS_4), [[178; 4]; 4]);
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(sse2::idct_8x8(&coefficients, &quant), [[178; 8]; 8]);
            assert_eq!(sse2::idct_4x4(&coefficients, &quant), [[178; 4]; 4]);
        }
        coefficients[0] = i16::MAX;
        assert_eq!(idct(&coefficients, &[u16::MAX; 64], &BASIS_2), [[255; 2]; 2], "no overflow");
        #[cfg(target_arch = "x86_64")]
        {
            assert_eq!(sse2::idct_8x8(&coefficients, &[u16::MAX; 64]), [[255; 8]; 8], "no overflow");
            assert_eq!(sse2::idct_4x4(&coefficients, &[u16::MAX; 64]), [[255; 4]; 4], "no overflow");
        }
        coefficients[0] = i16::MIN;
        assert_eq!(idct(&coefficients, &quant, &BASIS_2), [[0; 2]; 2]);
    }

    #[test]
    fn high_frequencies_do_not_reach_a_smaller_block() {
        let quant = [1u16; 64];
        let mut coefficients = [0i16; 64];
        coefficients[7 * 8 + 7] = 500;
        coefficients[5] = 300;
        assert_eq!(idct(&coefficients, &quant, &BASIS_4), [[128; 4]; 4]);
    }
}
