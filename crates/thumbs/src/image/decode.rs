//! PNG, GIF (its first frame) and WebP through the `image` crate, with its allocation
//! limits set from ours.

use std::io::Cursor;

use super::probe::{Header, InputFormat};
use super::{ImageError, Limits, Pixels};

/// Decodes to RGB or RGBA; returns the pixels, the ICC profile and the EXIF orientation.
pub fn decode(input: &[u8], format: InputFormat, header: &Header, limits: &Limits) -> Result<(Pixels, Option<Vec<u8>>, u16), ImageError> {
    let image_format = match format {
        InputFormat::Png => image::ImageFormat::Png,
        InputFormat::Gif => image::ImageFormat::Gif,
        InputFormat::Webp => image::ImageFormat::WebP,
        InputFormat::Jpeg => return Err(ImageError::Unsupported("JPEG goes through the JPEG decoder".to_owned())),
    };
    let mut reader = image::ImageReader::with_format(Cursor::new(input), image_format);
    let mut image_limits = image::Limits::default();
    image_limits.max_image_width = Some(header.width);
    image_limits.max_image_height = Some(header.height);
    image_limits.max_alloc = Some(limits.max_decoded_bytes);
    reader.limits(image_limits);
    let mut decoder = reader.into_decoder().map_err(convert)?;
    let icc = image::ImageDecoder::icc_profile(&mut decoder).ok().flatten();
    let orientation = image::ImageDecoder::orientation(&mut decoder).map_or(1, |orientation| u16::from(orientation.to_exif()));
    let decoded = image::DynamicImage::from_decoder(decoder).map_err(convert)?;
    let pixels = if decoded.color().has_alpha() {
        let rgba = decoded.into_rgba8();
        Pixels::new(rgba.width(), rgba.height(), 4, rgba.into_raw())
    } else {
        let rgb = decoded.into_rgb8();
        Pixels::new(rgb.width(), rgb.height(), 3, rgb.into_raw())
    };
    Ok((pixels, icc, orientation))
}

fn convert(error: image::ImageError) -> ImageError {
    match error {
        image::ImageError::Limits(limit) => ImageError::TooLarge(limit.to_string()),
        image::ImageError::Unsupported(unsupported) => ImageError::Unsupported(unsupported.to_string()),
        other => ImageError::Corrupt(other.to_string()),
    }
}
