//! Crop and resize with `fast_image_resize` (SIMD convolution), Lanczos3; alpha is
//! premultiplied while filtering so edges do not darken. A JPEG's YCbCr planes are
//! resized one by one, each from its own resolution, and interleaved at the end.

use fast_image_resize::images::{Image, ImageRef};
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};

use super::{ImageError, Pixels, Plane, Planes};

/// The part `crop` (left, top, width, height) of `pixels`, resized to `width`x`height`.
pub fn resize(pixels: &Pixels, crop: (f64, f64, f64, f64), width: u32, height: u32) -> Result<Pixels, ImageError> {
    let pixel_type = if pixels.channels == 4 { PixelType::U8x4 } else { PixelType::U8x3 };
    let data = resize_one((pixels.width, pixels.height), &pixels.data, pixel_type, pixels.channels == 4, crop, width, height)?;
    Ok(Pixels { width, height, channels: pixels.channels, data, ycc: pixels.ycc })
}

/// How far the chroma of a thumbnail made from planes is resized.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Chroma {
    /// To the thumbnail's size.
    Full,
    /// To half its size, each sample then given to the 2x2 pixels it covers: for
    /// encoders that average chroma over 2x2 pixels anyway (JPEG 4:2:0, lossy WebP),
    /// which get the same chroma for a quarter of the filtering.
    Half,
}

/// The part `crop` of `planes` (in the image's pixels), resized to `width`x`height` and
/// interleaved as YCbCr pixels. Each plane's crop is the image's scaled by its density,
/// so subsampled chroma is upsampled by the same Lanczos3 pass that shrinks it.
pub fn resize_planes(planes: &Planes, crop: (f64, f64, f64, f64), width: u32, height: u32, chroma: Chroma) -> Result<Pixels, ImageError> {
    let (left, top, crop_width, crop_height) = crop;
    let [luma_plane, blue_plane, red_plane] = &planes.planes;
    let (chroma_width, chroma_height) = match chroma {
        Chroma::Full => (width, height),
        Chroma::Half => (width.div_ceil(2), height.div_ceil(2)),
    };
    // A half-size chroma sample covers two pixels, the last one past an odd edge too.
    let (stretch_x, stretch_y) = (f64::from(chroma_width) / f64::from(width), f64::from(chroma_height) / f64::from(height));
    let stretch = match chroma {
        Chroma::Full => (1.0, 1.0),
        Chroma::Half => (2.0 * stretch_x, 2.0 * stretch_y),
    };
    let resize = |planes: &[&Plane], (across_stretch, down_stretch): (f64, f64), width: u32, height: u32| {
        let (across, down) = planes[0].density;
        let crop = (left * across, top * down, crop_width * across * across_stretch, crop_height * down * down_stretch);
        resize_alike(planes, crop, width, height)
    };
    let luma = resize(&[luma_plane], (1.0, 1.0), width, height)?;
    let chroma_alike =
        blue_plane.density == red_plane.density && (blue_plane.width, blue_plane.height) == (red_plane.width, red_plane.height);
    let both = if chroma_alike {
        resize(&[blue_plane, red_plane], stretch, chroma_width, chroma_height)?
    } else {
        [resize(&[blue_plane], stretch, chroma_width, chroma_height)?, resize(&[red_plane], stretch, chroma_width, chroma_height)?].concat()
    };
    let (blue, red) = both.split_at(both.len() / 2);
    let (width_px, chroma_stride) = (width as usize, chroma_width as usize);
    let mut data = vec![0u8; luma.len() * 3];
    for (y, (out, luma_row)) in data.chunks_exact_mut(width_px * 3).zip(luma.chunks_exact(width_px)).enumerate() {
        let at = match chroma {
            Chroma::Full => y * chroma_stride,
            Chroma::Half => y / 2 * chroma_stride,
        };
        let (blue_row, red_row) = (&blue[at..at + chroma_stride], &red[at..at + chroma_stride]);
        match chroma {
            Chroma::Full => {
                for (((pixel, &l), &b), &r) in out.chunks_exact_mut(3).zip(luma_row).zip(blue_row).zip(red_row) {
                    pixel.copy_from_slice(&[l, b, r]);
                }
            }
            Chroma::Half => {
                for (((pair, luma_pair), &b), &r) in out.chunks_mut(6).zip(luma_row.chunks(2)).zip(blue_row).zip(red_row) {
                    for (pixel, &l) in pair.chunks_exact_mut(3).zip(luma_pair) {
                        pixel.copy_from_slice(&[l, b, r]);
                    }
                }
            }
        }
    }
    Ok(Pixels { width, height, channels: 3, data, ycc: true })
}

/// Planes of one size, their part `crop` each resized to `width`x`height` (returned one
/// after another): the vertical pass plane by plane, then the horizontal one on four
/// rows at a time packed as the channels of U8x4 pixels. (fast_image_resize's horizontal
/// pass for one channel works a pixel at a time and costs several times more per sample
/// than the four-channel one; the packing is a copy.)
fn resize_alike(planes: &[&Plane], crop: (f64, f64, f64, f64), width: u32, height: u32) -> Result<Vec<u8>, ImageError> {
    let (source_width, source_height) = (planes[0].width, planes[0].height);
    let (w, h) = (f64::from(source_width), f64::from(source_height));
    let (left, top, crop_width, crop_height) = crop;
    let (left, top) = (left.clamp(0.0, w - 1.0), top.clamp(0.0, h - 1.0));
    let (crop_width, crop_height) = (crop_width.clamp(1.0, w - left), crop_height.clamp(1.0, h - top));
    // The columns the horizontal pass reads: the crop and Lanczos3's reach either side.
    let reach = 3.0 * (crop_width / f64::from(width)).max(1.0) + 2.0;
    let first = (left - reach).floor().max(0.0) as u32;
    let band = ((left + crop_width + reach).ceil().min(w) as u32).saturating_sub(first).max(1);
    let mut rows = Vec::with_capacity(planes.len() * band as usize * height as usize);
    for plane in planes {
        rows.extend(resize_one(
            (plane.width, plane.height),
            &plane.data,
            PixelType::U8,
            false,
            (f64::from(first), top, f64::from(band), crop_height),
            band,
            height,
        )?);
    }
    let (band, width) = (band as usize, width as usize);
    let count = planes.len() * height as usize;
    let groups = count.div_ceil(4);
    let mut packed = vec![0u8; groups * band * 4];
    let blank = vec![0u8; band];
    for (group, out) in packed.chunks_exact_mut(band * 4).enumerate() {
        let row = |lane: usize| rows.get((group * 4 + lane) * band..(group * 4 + lane + 1) * band).unwrap_or(&blank);
        for ((((pixel, &a), &b), &c), &d) in out.chunks_exact_mut(4).zip(row(0)).zip(row(1)).zip(row(2)).zip(row(3)) {
            pixel.copy_from_slice(&[a, b, c, d]);
        }
    }
    let wide = resize_one(
        (band as u32, groups as u32),
        &packed,
        PixelType::U8x4,
        false,
        (left - f64::from(first), 0.0, crop_width, groups as f64),
        width as u32,
        groups as u32,
    )?;
    let mut out = vec![0u8; groups * 4 * width];
    for (wide_row, out) in wide.chunks_exact(width * 4).zip(out.chunks_exact_mut(width * 4)) {
        let (a, rest) = out.split_at_mut(width);
        let (b, rest) = rest.split_at_mut(width);
        let (c, d) = rest.split_at_mut(width);
        for ((((pixel, a), b), c), d) in wide_row.chunks_exact(4).zip(a).zip(b).zip(c).zip(d) {
            (*a, *b, *c, *d) = (pixel[0], pixel[1], pixel[2], pixel[3]);
        }
    }
    out.truncate(count * width);
    Ok(out)
}

fn resize_one(
    (source_width, source_height): (u32, u32),
    data: &[u8],
    pixel_type: PixelType,
    alpha: bool,
    crop: (f64, f64, f64, f64),
    width: u32,
    height: u32,
) -> Result<Vec<u8>, ImageError> {
    let source = ImageRef::new(source_width, source_height, data, pixel_type)
        .map_err(|error| ImageError::Corrupt(format!("decoded buffer does not match its size: {error}")))?;
    let mut target = Image::new(width, height, pixel_type);
    // Planned in floating point on the full-size source: keep it inside the pixels.
    let (w, h) = (f64::from(source_width), f64::from(source_height));
    let (left, top, crop_width, crop_height) = crop;
    let (left, top) = (left.clamp(0.0, w - 1.0), top.clamp(0.0, h - 1.0));
    let (crop_width, crop_height) = (crop_width.clamp(1.0, w - left), crop_height.clamp(1.0, h - top));
    // Premultiplied alpha for RGBA; four packed rows (`resize_alike`) are no RGBA.
    let options = ResizeOptions::new()
        .resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3))
        .crop(left, top, crop_width, crop_height)
        .use_alpha(alpha);
    Resizer::new().resize(&source, &mut target, &options).map_err(|error| ImageError::Encode(format!("resize: {error}")))?;
    Ok(target.into_vec())
}

#[cfg(test)]
mod tests {
    use super::{resize_planes, Chroma};
    use crate::image::{Plane, Planes};

    /// 4:2:0 planes whose chroma is a plane in space, in whole levels: away from the
    /// edges Lanczos3 keeps it to within 0.8 of a level, and an output pixel's chroma
    /// taken half a pixel off is a level or more away, so where it was taken from shows.
    fn ramp_planes() -> Planes {
        let (width, height) = (160u32, 120u32);
        let chroma = |offset: u32| Plane {
            width: width / 2,
            height: height / 2,
            data: (0..height / 2).flat_map(|j| (0..width / 2).map(move |i| (20 + 2 * i + j + offset) as u8)).collect(),
            density: (0.5, 0.5),
        };
        let luma = Plane { width, height, data: vec![100; (width * height) as usize], density: (1.0, 1.0) };
        Planes { width, height, planes: [luma, chroma(0), chroma(10)] }
    }

    #[test]
    fn chroma_is_taken_from_where_each_pixel_lies_at_full_and_half_size() {
        let planes = ramp_planes();
        // The ramp's value at a position in the image (chroma sample i's centre is at
        // image x = 2i + 1).
        let expected = |x: f64, y: f64| 20.0 + 2.0 * (x / 2.0 - 0.5) + (y / 2.0 - 0.5);
        let (left, top, crop_width, crop_height) = (12.25, 8.5, 120.0, 90.0);
        for (width, height) in [(60u32, 45u32), (61, 45)] {
            let (step_x, step_y) = (crop_width / f64::from(width), crop_height / f64::from(height));
            for chroma in [Chroma::Full, Chroma::Half] {
                let pixels = resize_planes(&planes, (left, top, crop_width, crop_height), width, height, chroma).expect("resize");
                assert_eq!((pixels.width, pixels.height, pixels.data.len()), (width, height, (width * height * 3) as usize));
                let mut worst = 0.0f64;
                for y in 6..height - 6 {
                    for x in 6..width - 6 {
                        // The centre of the pixel, or of the 2x2 pixels a half-size sample covers.
                        let (cx, cy) = match chroma {
                            Chroma::Full => (f64::from(x) + 0.5, f64::from(y) + 0.5),
                            Chroma::Half => (f64::from(x / 2 * 2 + 1), f64::from(y / 2 * 2 + 1)),
                        };
                        let want = expected(left + cx * step_x, top + cy * step_y);
                        let at = ((y * width + x) * 3) as usize;
                        assert_eq!(pixels.data[at], 100, "luma passes through");
                        worst = worst.max((f64::from(pixels.data[at + 1]) - want).abs());
                        worst = worst.max((f64::from(pixels.data[at + 2]) - 10.0 - want).abs());
                    }
                }
                assert!(worst <= 0.9, "{chroma:?} at {width}x{height}: chroma {worst} levels from where the pixel lies");
            }
        }
    }
}
