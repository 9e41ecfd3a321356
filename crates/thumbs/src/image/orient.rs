//! EXIF orientation (1-8): how a stored image must be turned to be seen upright. The
//! pipeline resizes in the stored frame (a crop planned upright is mapped into it by
//! [`crop_to_stored`]) and turns only the small result.

use super::Pixels;

/// The orientation tag of an APP1 segment's EXIF (`Exif\0\0` then TIFF).
pub fn from_exif_segment(app1: &[u8]) -> Option<u16> {
    from_tiff(app1.strip_prefix(b"Exif\0\0")?)
}

/// The orientation tag of raw EXIF (TIFF) data.
pub fn from_tiff(tiff: &[u8]) -> Option<u16> {
    let exif = exif::Reader::new().read_raw(tiff.to_vec()).ok()?;
    let field = exif.get_field(exif::Tag::Orientation, exif::In::PRIMARY)?;
    field.value.get_uint(0).and_then(|value| u16::try_from(value).ok()).filter(|value| (1..=8).contains(value))
}

/// Orientations 5-8 swap width and height.
pub fn transposes(orientation: u16) -> bool {
    (5..=8).contains(&orientation)
}

/// A crop `(left, top, width, height)` of the upright image (`upright_width` x
/// `upright_height`) as the same region of the stored image.
pub fn crop_to_stored(crop: (f64, f64, f64, f64), orientation: u16, upright_width: f64, upright_height: f64) -> (f64, f64, f64, f64) {
    let (l, t, w, h) = crop;
    let (ow, oh) = (upright_width, upright_height);
    match orientation {
        2 => (ow - l - w, t, w, h),
        3 => (ow - l - w, oh - t - h, w, h),
        4 => (l, oh - t - h, w, h),
        5 => (t, l, h, w),
        6 => (t, ow - l - w, h, w),
        7 => (oh - t - h, ow - l - w, h, w),
        8 => (oh - t - h, l, h, w),
        _ => crop,
    }
}

/// Turns stored pixels upright.
pub fn apply(pixels: Pixels, orientation: u16) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return pixels;
    }
    let (w, h) = (pixels.width as usize, pixels.height as usize);
    let channels = usize::from(pixels.channels);
    let (out_w, out_h) = if transposes(orientation) { (h, w) } else { (w, h) };
    let mut data = vec![0; pixels.data.len()];
    for oy in 0..out_h {
        for ox in 0..out_w {
            // Where the upright pixel (ox, oy) is stored.
            let (x, y) = match orientation {
                2 => (w - 1 - ox, oy),
                3 => (w - 1 - ox, h - 1 - oy),
                4 => (ox, h - 1 - oy),
                5 => (oy, ox),
                6 => (oy, h - 1 - ox),
                7 => (w - 1 - oy, h - 1 - ox),
                _ => (w - 1 - oy, ox),
            };
            let from = (y * w + x) * channels;
            let to = (oy * out_w + ox) * channels;
            data[to..to + channels].copy_from_slice(&pixels.data[from..from + channels]);
        }
    }
    Pixels { width: out_w as u32, height: out_h as u32, data, ..pixels }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3x2 image whose pixels are their own indices.
    fn sample() -> Pixels {
        Pixels::new(3, 2, 1, vec![0, 1, 2, 3, 4, 5])
    }

    #[test]
    fn every_orientation_turns_upright() {
        // Stored:  0 1 2     The upright results, row by row.
        //          3 4 5
        let cases: &[(u16, (u32, u32), &[u8])] = &[
            (1, (3, 2), &[0, 1, 2, 3, 4, 5]),
            (2, (3, 2), &[2, 1, 0, 5, 4, 3]),
            (3, (3, 2), &[5, 4, 3, 2, 1, 0]),
            (4, (3, 2), &[3, 4, 5, 0, 1, 2]),
            (5, (2, 3), &[0, 3, 1, 4, 2, 5]),
            (6, (2, 3), &[3, 0, 4, 1, 5, 2]),
            (7, (2, 3), &[5, 2, 4, 1, 3, 0]),
            (8, (2, 3), &[2, 5, 1, 4, 0, 3]),
        ];
        for &(orientation, size, expected) in cases {
            let upright = apply(sample(), orientation);
            assert_eq!(((upright.width, upright.height), upright.data.as_slice()), (size, expected), "orientation {orientation}");
        }
    }

    #[test]
    fn crops_map_to_the_same_stored_pixels() {
        // A 1x1 crop of each upright pixel maps to the stored pixel `apply` put there.
        for orientation in 1..=8u16 {
            let upright = apply(sample(), orientation);
            for oy in 0..upright.height {
                for ox in 0..upright.width {
                    let (x, y, _, _) = crop_to_stored(
                        (f64::from(ox), f64::from(oy), 1.0, 1.0),
                        orientation,
                        f64::from(upright.width),
                        f64::from(upright.height),
                    );
                    let stored = sample().data[(y as usize) * 3 + x as usize];
                    assert_eq!(stored, upright.data[(oy * upright.width + ox) as usize], "orientation {orientation} at ({ox}, {oy})");
                }
            }
        }
    }
}
