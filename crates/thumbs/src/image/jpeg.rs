//! JPEG through libjpeg-turbo's decoder and encoder (the `mozjpeg` crate, built from C
//! by cargo, no nasm): shrink-on-load in the DCT domain (scale n/8) and, for progressive
//! files decoded at 1/8, only the scans that scale reads.
//!
//! libjpeg reports fatal errors by unwinding; every call here runs inside
//! `catch_unwind`, so a hostile file is an error, never a crash.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::{ImageError, Pixels};

/// How much larger than needed the decoder's output must be. The DCT's shrink is a block
/// average: leaving the last factor of two to Lanczos3 keeps it from aliasing (libvips
/// keeps the same margin).
pub const HEADROOM: f64 = 2.0;

/// The smallest n (1..=8) with the image scaled by n/8 still [`HEADROOM`] times `need`
/// in both dimensions.
pub fn scale_for(width: u32, height: u32, need_width: u32, need_height: u32) -> u8 {
    (1..=8u8)
        .find(|&n| {
            let scaled = |size: u32| (u64::from(size) * u64::from(n)).div_ceil(8);
            scaled(width) as f64 >= f64::from(need_width) * HEADROOM && scaled(height) as f64 >= f64::from(need_height) * HEADROOM
        })
        .unwrap_or(8)
}

/// What a JPEG decodes to, with the metadata the pipeline needs.
pub struct Decoded {
    pub pixels: Pixels,
    /// EXIF orientation (1-8), 1 when absent.
    pub orientation: u16,
    pub icc: Option<Vec<u8>>,
}

/// Decodes `input` scaled by `scale`/8 to RGB.
pub fn decode(input: &[u8], scale: u8, progressive: bool) -> Result<Decoded, ImageError> {
    if !has_end_marker(input) {
        return Err(ImageError::Corrupt("truncated JPEG: no end-of-image marker".to_owned()));
    }
    // At 1/8 a full-resolution component becomes its DC coefficients: its AC scans
    // need not be decoded. The result is the same, bit for bit.
    let reduced = if scale == 1 && progressive { dc_scans_only(input) } else { None };
    let data = reduced.as_deref().unwrap_or(input);
    let outcome = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Decoded> {
        let mut decompress = mozjpeg::Decompress::with_markers(&[mozjpeg::Marker::APP(1), mozjpeg::Marker::APP(2)]).from_mem(data)?;
        let orientation = decompress.markers().find_map(|marker| super::orient::from_exif_segment(marker.data)).unwrap_or(1);
        let icc = icc_profile(decompress.markers().filter(|marker| marker.marker == mozjpeg::Marker::APP(2)).map(|marker| marker.data));
        decompress.scale(scale);
        // Without the missing AC scans, smoothing would guess them from neighbours.
        decompress.do_block_smoothing(false);
        // YCbCr stays YCbCr (see `Pixels`); grey is widened to it.
        let (mut started, gray) = match decompress.color_space() {
            mozjpeg::ColorSpace::JCS_YCbCr => (decompress.to_colorspace(mozjpeg::ColorSpace::JCS_YCbCr)?, false),
            mozjpeg::ColorSpace::JCS_GRAYSCALE => (decompress.grayscale()?, true),
            mozjpeg::ColorSpace::JCS_CMYK | mozjpeg::ColorSpace::JCS_YCCK => {
                return Err(std::io::Error::new(std::io::ErrorKind::Unsupported, "CMYK JPEG"));
            }
            _ => (decompress.rgb()?, false),
        };
        let (width, height) = (started.width(), started.height());
        let ycc = gray || started.color_space() == mozjpeg::ColorSpace::JCS_YCbCr;
        let mut data: Vec<u8> = started.read_scanlines()?;
        if gray {
            data = data.iter().flat_map(|&luma| [luma, 128, 128]).collect();
        }
        started.finish()?;
        let pixels =
            Pixels { width: u32::try_from(width).unwrap_or(0), height: u32::try_from(height).unwrap_or(0), channels: 3, data, ycc };
        Ok(Decoded { pixels, orientation, icc })
    }));
    match outcome {
        Ok(Ok(decoded)) if decoded.pixels.data.len() == decoded.pixels.expected_len() => Ok(decoded),
        Ok(Ok(_)) => Err(ImageError::Corrupt("JPEG decoded to fewer pixels than it declares".to_owned())),
        Ok(Err(error)) if error.kind() == std::io::ErrorKind::Unsupported => Err(ImageError::Unsupported(error.to_string())),
        Ok(Err(error)) => Err(ImageError::Corrupt(format!("invalid JPEG: {error}"))),
        Err(panic) => Err(ImageError::Corrupt(panic_message(&panic))),
    }
}

/// Encodes RGB or YCbCr pixels as a baseline JPEG at `quality`, libjpeg-turbo's fastest
/// profile (Annex K tables, 4:2:0).
pub fn encode(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ImageError> {
    let outcome = catch_unwind(AssertUnwindSafe(|| -> std::io::Result<Vec<u8>> {
        let color_space = if pixels.ycc { mozjpeg::ColorSpace::JCS_YCbCr } else { mozjpeg::ColorSpace::JCS_RGB };
        let mut compress = mozjpeg::Compress::new(color_space);
        compress.set_fastest_defaults();
        compress.set_size(pixels.width as usize, pixels.height as usize);
        compress.set_quality(f32::from(quality));
        let mut started = compress.start_compress(Vec::with_capacity(pixels.data.len() / 8))?;
        started.write_scanlines(&pixels.data)?;
        started.finish()
    }));
    match outcome {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(error)) => Err(ImageError::Encode(format!("JPEG: {error}"))),
        Err(panic) => Err(ImageError::Encode(panic_message(&panic))),
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|text| (*text).to_owned()))
        .unwrap_or_else(|| "libjpeg failed".to_owned())
}

/// Whether the file ends with EOI (after any trailing padding). A truncated file would
/// otherwise decode with its missing part grey: libjpeg only warns.
fn has_end_marker(input: &[u8]) -> bool {
    let tail = &input[input.len().saturating_sub(4096)..];
    tail.windows(2).any(|pair| pair == [0xFF, 0xD9])
}

/// The ICC profile, reassembled from its APP2 chunks (`ICC_PROFILE\0`, sequence, count).
fn icc_profile<'a>(segments: impl Iterator<Item = &'a [u8]>) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = segments
        .filter_map(|data| data.strip_prefix(b"ICC_PROFILE\0"))
        .filter(|data| data.len() > 2)
        .map(|data| (data[0], &data[2..]))
        .collect();
    if chunks.is_empty() {
        return None;
    }
    chunks.sort_by_key(|(sequence, _)| *sequence);
    Some(chunks.into_iter().flat_map(|(_, data)| data.iter().copied()).collect())
}

/// The file with the AC scans of its full-resolution components left out, for a
/// progressive JPEG decoded at 1/8: there each 8x8 block of such a component becomes
/// one pixel, its DC value. Subsampled components (4:2:0 chroma) are decoded with a
/// larger IDCT that reads AC coefficients, so their scans stay. `None` when the file is
/// not progressive or its structure is not understood (then it is decoded whole).
pub fn dc_scans_only(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4);
    out.extend_from_slice(input.get(..2)?);
    let mut at = 2;
    let mut full_resolution: Vec<u8> = Vec::new();
    let mut progressive = false;
    while at + 4 <= input.len() {
        if input[at] != 0xFF {
            return None;
        }
        // Any number of 0xFF fill bytes may precede a marker.
        while at + 2 < input.len() && input[at + 1] == 0xFF {
            at += 1;
        }
        let marker = input[at + 1];
        if marker == 0xD9 {
            break;
        }
        let length = usize::from(u16::from_be_bytes([*input.get(at + 2)?, *input.get(at + 3)?]));
        let segment_end = at + 2 + length;
        let segment = input.get(at + 4..segment_end)?;
        match marker {
            0xC2 => {
                progressive = true;
                let count = usize::from(*segment.get(5)?);
                let components: Vec<(u8, u8, u8)> = (0..count)
                    .map(|index| segment.get(6 + 3 * index..9 + 3 * index).map(|c| (c[0], c[1] >> 4, c[1] & 15)))
                    .collect::<Option<_>>()?;
                let h_max = components.iter().map(|c| c.1).max()?;
                let v_max = components.iter().map(|c| c.2).max()?;
                full_resolution = components.iter().filter(|c| c.1 == h_max && c.2 == v_max).map(|c| c.0).collect();
                out.extend_from_slice(&input[at..segment_end]);
                at = segment_end;
            }
            0xDA => {
                let count = usize::from(*segment.first()?);
                let ids: Vec<u8> = (0..count).map(|index| segment.get(1 + 2 * index).copied()).collect::<Option<_>>()?;
                let spectral_start = *segment.get(1 + 2 * count)?;
                // The entropy-coded data runs to the next marker that is not a stuffed
                // zero or a restart marker.
                let mut end = segment_end;
                while end + 1 < input.len() && !(input[end] == 0xFF && input[end + 1] != 0 && !(0xD0..=0xD7).contains(&input[end + 1])) {
                    end += 1;
                }
                let keep = spectral_start == 0 || ids.iter().any(|id| !full_resolution.contains(id));
                if keep {
                    out.extend_from_slice(&input[at..end]);
                }
                at = end;
            }
            _ => {
                out.extend_from_slice(&input[at..segment_end]);
                at = segment_end;
            }
        }
    }
    if !progressive {
        return None;
    }
    out.extend_from_slice(&[0xFF, 0xD9]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::scale_for;

    #[test]
    fn the_smallest_scale_that_keeps_the_needed_size() {
        assert_eq!(scale_for(4000, 3000, 200, 150), 1, "500x375: at least twice 200x150");
        assert_eq!(scale_for(4000, 3000, 256, 192), 2, "1000x750; 500 is less than twice 256");
        assert_eq!(scale_for(4000, 3000, 1024, 768), 5, "2500x1875");
        assert_eq!(scale_for(4000, 3000, 4000, 3000), 8);
        assert_eq!(scale_for(100, 100, 400, 400), 8, "never upscaled in the decoder");
        assert_eq!(scale_for(4001, 80, 250, 5), 1, "501x10, rounded up as libjpeg does");
    }
}
