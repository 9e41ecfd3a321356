//! Crop and resize with `fast_image_resize` (SIMD convolution), Lanczos3; alpha is
//! premultiplied while filtering so edges do not darken.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{ImageError, Pixels};

/// The part `crop` (left, top, width, height) of `pixels`, resized to `width`x`height`.
pub fn resize(pixels: &Pixels, crop: (f64, f64, f64, f64), width: u32, height: u32) -> Result<Pixels, ImageError> {
    let pixel_type = if pixels.channels == 4 { PixelType::U8x4 } else { PixelType::U8x3 };
    let source = ImageRef::new(pixels.width, pixels.height, &pixels.data, pixel_type)
        .map_err(|error| ImageError::Corrupt(format!("decoded buffer does not match its size: {error}")))?;
    let mut target = Image::new(width, height, pixel_type);
    // Planned in floating point on the full-size source: keep it inside the pixels.
    let (w, h) = (f64::from(pixels.width), f64::from(pixels.height));
    let (left, top, crop_width, crop_height) = crop;
    let (left, top) = (left.clamp(0.0, w - 1.0), top.clamp(0.0, h - 1.0));
    let (crop_width, crop_height) = (crop_width.clamp(1.0, w - left), crop_height.clamp(1.0, h - top));
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3)).crop(left, top, crop_width, crop_height);
    Resizer::new().resize(&source, &mut target, &options).map_err(|error| ImageError::Encode(format!("resize: {error}")))?;
    Ok(Pixels { width, height, channels: pixels.channels, data: target.into_vec(), ycc: pixels.ycc })
}
