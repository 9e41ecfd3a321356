//! Colour profiles: pixels described by an embedded ICC profile are converted to sRGB,
//! what browsers assume of an image without one (thumbnails carry no profile).

use super::Pixels;

/// Converts `pixels` from `icc` to sRGB; unchanged when the profile cannot be read.
pub fn to_srgb(mut pixels: Pixels, icc: &[u8]) -> Pixels {
    let Some(input) = qcms::Profile::new_from_slice(icc, false) else {
        tracing::debug!(bytes = icc.len(), "unreadable ICC profile ignored");
        return pixels;
    };
    let mut output = qcms::Profile::new_sRGB();
    output.precache_output_transform();
    let kind = if pixels.channels == 4 { qcms::DataType::RGBA8 } else { qcms::DataType::RGB8 };
    if let Some(transform) = qcms::Transform::new(&input, &output, kind, qcms::Intent::Perceptual) {
        transform.apply(&mut pixels.data);
    }
    pixels
}
