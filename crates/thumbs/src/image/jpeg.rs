//! JPEG in through libjpeg-turbo's decoder (`libjpeg.rs` over `mozjpeg-sys`, built from C
//! by cargo, no nasm): shrink-on-load in the DCT domain (scale n/8) and, for progressive
//! files decoded at 1/8, only the scans that scale reads. JPEG out through `jpeg-encoder`.
//!
//! libjpeg reports fatal errors by unwinding; every call into it runs inside
//! `catch_unwind`, so a hostile file is an error, never a crash.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::libjpeg::Samples;
use super::{Image, ImageError, Limits, Pixels};

/// How much larger than needed the decoder's output must be, so that Lanczos3 does the
/// last part of the shrink. At 1/8 a block becomes its average (DC only), which aliases:
/// there the margin is 2x (as libvips keeps). From 2/8 up the scaled IDCTs (`idct.rs`)
/// keep the block's low frequencies, and 1.8x scores within 0.0001 SSIM of 2x on the
/// benchmark photos (0.9801, 0.9802) while letting the common 16:9 and 4:3 sizes decode
/// at 4/8 instead of 5/8 or 6/8 for 1024 px, 15 % faster (BENCHMARKS.md).
pub const HEADROOM_AT_EIGHTH: f64 = 2.0;
pub const HEADROOM: f64 = 1.8;

/// The smallest n (1..=8) with the image scaled by n/8 still [`HEADROOM`] (at n = 1,
/// [`HEADROOM_AT_EIGHTH`]) times `need` in both dimensions.
pub fn scale_for(width: u32, height: u32, need_width: u32, need_height: u32) -> u8 {
    (1..=8u8)
        .find(|&n| {
            let headroom = if n == 1 { HEADROOM_AT_EIGHTH } else { HEADROOM };
            let fits = |size: u32, need: u32| (u64::from(size) * u64::from(n)).div_ceil(8) as f64 >= f64::from(need) * headroom;
            fits(width, need_width) && fits(height, need_height)
        })
        .unwrap_or(8)
}

/// What a JPEG decodes to, with the metadata the pipeline needs.
pub struct Decoded {
    pub image: Image,
    pub icc: Option<Vec<u8>>,
}

/// Decodes `input` scaled by `scale`/8: YCbCr stays YCbCr, in planes (see `Planes`),
/// grey is widened to it, an RGB JPEG stays RGB. A progressive file whose coefficients would
/// take more than `limits.max_decoded_bytes` is refused as too large; past
/// `limits.deadline` the decode stops.
pub fn decode(input: &[u8], scale: u8, progressive: bool, limits: &Limits) -> Result<Decoded, ImageError> {
    if !has_end_marker(input) {
        return Err(ImageError::Corrupt("truncated JPEG: no end-of-image marker".to_owned()));
    }
    let icc = icc_profile(app_segments(input, 0xE2));
    let run = |data: &[u8]| {
        catch_unwind(AssertUnwindSafe(|| super::libjpeg::decode(data, scale, limits.max_decoded_bytes, limits.deadline))).map_err(
            |panic| {
                if panic.is::<super::libjpeg::OverMemoryLimit>() {
                    ImageError::TooLarge(format!("decoding would need more than {} bytes", limits.max_decoded_bytes))
                } else if panic.is::<super::libjpeg::PastDeadline>() {
                    ImageError::TimedOut
                } else {
                    ImageError::Corrupt(format!("invalid JPEG: {}", panic_message(&panic)))
                }
            },
        )?
    };
    // At 1/8 a component decoded at its own resolution becomes its DC coefficients: its
    // AC scans need not be decoded, and the result is the same, bit for bit. Should
    // libjpeg have decoded one at a larger size after all (which reads AC terms), the
    // whole file is decoded again.
    let reduced = if scale == 1 && progressive { dc_scans_only(input) } else { None };
    let output = match reduced {
        Some(reduced) => match run(&reduced)? {
            output if output.native => output,
            _ => run(input)?,
        },
        None => run(input)?,
    };
    let super::libjpeg::Output { width, height, samples, .. } = output;
    let short = || ImageError::Corrupt("JPEG decoded to fewer pixels than it declares".to_owned());
    let image = match samples {
        Samples::Planar(planes) => {
            if planes.planes.iter().any(|plane| plane.data.len() != plane.width as usize * plane.height as usize) {
                return Err(short());
            }
            Image::Planes(planes)
        }
        Samples::Interleaved { components, color, mut data } => {
            if components == 1 {
                data = data.iter().flat_map(|&luma| [luma, 128, 128]).collect();
            }
            let ycc = components == 1 || color == mozjpeg_sys::J_COLOR_SPACE::JCS_YCbCr;
            let pixels = Pixels { width, height, channels: 3, data, ycc };
            if pixels.data.len() != pixels.expected_len() {
                return Err(short());
            }
            Image::Pixels(pixels)
        }
    };
    Ok(Decoded { image, icc })
}

/// The payloads of the file's `marker` segments (APPn: 0xE0 + n) before the image data.
pub fn app_segments(input: &[u8], marker: u8) -> Vec<&[u8]> {
    let mut segments = Vec::new();
    let mut at = 2;
    while at + 4 <= input.len() && input[at] == 0xFF {
        let found = input[at + 1];
        if found == 0xDA || found == 0xD9 {
            break;
        }
        let length = usize::from(u16::from_be_bytes([input[at + 2], input[at + 3]]));
        if found == marker {
            if let Some(payload) = input.get(at + 4..at + 2 + length) {
                segments.push(payload);
            }
        }
        at += 2 + length;
    }
    segments
}

/// Encodes RGB or YCbCr pixels as a baseline 4:2:0 JPEG at `quality` (Annex K tables
/// scaled as libjpeg does, standard Huffman tables, chroma averaged over each 2x2) with
/// the pure-Rust `jpeg-encoder`, whose DCT and colour conversion use AVX2 when the CPU
/// has it: at thumbnail sizes it is faster than libjpeg built without SIMD, and its
/// output is within 0.1 % of libjpeg's size at the same SSIM.
pub fn encode(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ImageError> {
    let too_large = || ImageError::Encode(format!("JPEG: {}x{} is over 65535 pixels on a side", pixels.width, pixels.height));
    let width = u16::try_from(pixels.width).map_err(|_| too_large())?;
    let height = u16::try_from(pixels.height).map_err(|_| too_large())?;
    let mut out = Vec::with_capacity(pixels.data.len() / 8);
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100));
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
    let encoded = if pixels.ycc {
        encoder.encode_image(YccRows { data: &pixels.data, width, height })
    } else {
        encoder.encode(&pixels.data, width, height, jpeg_encoder::ColorType::Rgb)
    };
    encoded.map_err(|error| ImageError::Encode(format!("JPEG: {error}")))?;
    Ok(out)
}

/// Interleaved YCbCr handed to the encoder a row at a time, one plane per buffer (the
/// crate's own YCbCr input pushes byte by byte; this extends each plane in one go).
struct YccRows<'a> {
    data: &'a [u8],
    width: u16,
    height: u16,
}

impl jpeg_encoder::ImageBuffer for YccRows<'_> {
    fn get_jpeg_color_type(&self) -> jpeg_encoder::JpegColorType {
        jpeg_encoder::JpegColorType::Ycbcr
    }

    fn width(&self) -> u16 {
        self.width
    }

    fn height(&self) -> u16 {
        self.height
    }

    fn fill_buffers(&self, y: u16, buffers: &mut [Vec<u8>; 4]) {
        let stride = usize::from(self.width) * 3;
        let row = &self.data[usize::from(y) * stride..][..stride];
        let [luma, blue, red, _] = buffers;
        luma.extend(row.iter().step_by(3));
        blue.extend(row.iter().skip(1).step_by(3));
        red.extend(row.iter().skip(2).step_by(3));
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
fn icc_profile(segments: Vec<&[u8]>) -> Option<Vec<u8>> {
    let mut chunks: Vec<(u8, &[u8])> = segments
        .into_iter()
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

/// The file with its AC scans left out, for a progressive JPEG decoded at 1/8: there
/// each 8x8 block of a component decoded at its own resolution becomes one pixel, its
/// DC value (`libjpeg::Output::native` says whether every one was). `None` when the
/// file is not progressive or its structure is not understood (then it is decoded whole).
pub fn dc_scans_only(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(input.len() / 4);
    out.extend_from_slice(input.get(..2)?);
    let mut at = 2;
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
                out.extend_from_slice(&input[at..segment_end]);
                at = segment_end;
            }
            0xDA => {
                let count = usize::from(*segment.first()?);
                let spectral_start = *segment.get(1 + 2 * count)?;
                // The entropy-coded data runs to the next marker that is not a stuffed
                // zero or a restart marker.
                let mut end = segment_end;
                while end + 1 < input.len() && !(input[end] == 0xFF && input[end + 1] != 0 && !(0xD0..=0xD7).contains(&input[end + 1])) {
                    end += 1;
                }
                if spectral_start == 0 {
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
        assert_eq!(scale_for(4000, 3000, 1024, 768), 4, "2000x1500, 1.95x");
        assert_eq!(scale_for(3840, 2160, 1024, 576), 4, "1920x1080, 1.875x");
        assert_eq!(scale_for(3840, 2160, 1200, 675), 5, "1920 is less than 1.8 x 1200");
        assert_eq!(scale_for(4000, 3000, 4000, 3000), 8);
        assert_eq!(scale_for(100, 100, 400, 400), 8, "never upscaled in the decoder");
        assert_eq!(scale_for(4001, 80, 250, 5), 1, "501x10, rounded up as libjpeg does");
        assert_eq!(scale_for(3840, 2160, 256, 144), 2, "480 would be 1.875x: at 1/8 the margin is 2x");
    }
}
