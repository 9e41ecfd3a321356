//! SSIM (structural similarity, Wang et al. 2004) on luma over 8x8 windows with a
//! stride of 4: how the benchmark compares thumbnails against a Lanczos3 reference.

use super::Pixels;

/// Mean SSIM of two images of the same size (1.0 is identical).
pub fn ssim(a: &Pixels, b: &Pixels) -> Option<f64> {
    if (a.width, a.height) != (b.width, b.height) || a.width < 8 || a.height < 8 {
        return None;
    }
    let (la, lb) = (luma(a), luma(b));
    let (w, h) = (a.width as usize, a.height as usize);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let (mut total, mut windows) = (0.0, 0usize);
    for y in (0..=h - 8).step_by(4) {
        for x in (0..=w - 8).step_by(4) {
            let (mut sa, mut sb, mut saa, mut sbb, mut sab) = (0.0, 0.0, 0.0, 0.0, 0.0);
            for dy in 0..8 {
                for dx in 0..8 {
                    let (pa, pb) = (la[(y + dy) * w + x + dx], lb[(y + dy) * w + x + dx]);
                    sa += pa;
                    sb += pb;
                    saa += pa * pa;
                    sbb += pb * pb;
                    sab += pa * pb;
                }
            }
            let n = 64.0;
            let (ma, mb) = (sa / n, sb / n);
            let (va, vb, cov) = (saa / n - ma * ma, sbb / n - mb * mb, sab / n - ma * mb);
            total += ((2.0 * ma * mb + c1) * (2.0 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
            windows += 1;
        }
    }
    Some(total / windows as f64)
}

fn luma(pixels: &Pixels) -> Vec<f64> {
    if pixels.ycc {
        return pixels.data.chunks_exact(3).map(|px| f64::from(px[0])).collect();
    }
    pixels
        .data
        .chunks_exact(usize::from(pixels.channels))
        .map(|px| 0.299 * f64::from(px[0]) + 0.587 * f64::from(px[1]) + 0.114 * f64::from(px[2]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_is_one_and_noise_is_less() {
        let data: Vec<u8> = (0..32 * 32 * 3).map(|i| (i * 7 % 251) as u8).collect();
        let a = Pixels::new(32, 32, 3, data);
        assert!((ssim(&a, &a).expect("ssim") - 1.0).abs() < 1e-9);
        let noisy = Pixels { data: a.data.iter().map(|v| v.wrapping_add(40)).collect(), ..a.clone() };
        assert!(ssim(&a, &noisy).expect("ssim") < 0.99);
        assert_eq!(ssim(&a, &Pixels { width: 16, ..a.clone() }), None);
    }
}
