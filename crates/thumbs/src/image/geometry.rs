//! Output sizes and crops, pure: what `w`, `h` and `fit` mean.
//!
//! - `fill`: exactly `w`x`h`, stretched.
//! - `contain`: the largest size with the source's aspect that fits in `w`x`h`.
//! - `cover`: exactly `w`x`h`, the source scaled to cover it and cropped at the centre.
//!
//! Without `h` the height keeps the source's aspect (every fit is then the same).

use super::Fit;

/// What to make of a source of a given size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Plan {
    pub width: u32,
    pub height: u32,
    /// The part of the source that becomes the output: left, top, width, height, in
    /// source pixels.
    pub crop: (f64, f64, f64, f64),
}

pub fn plan(source_width: u32, source_height: u32, width: u32, height: Option<u32>, fit: Fit) -> Plan {
    let (sw, sh) = (f64::from(source_width.max(1)), f64::from(source_height.max(1)));
    let whole = (0.0, 0.0, sw, sh);
    let round = |value: f64| (value.round() as u32).max(1);
    let Some(height) = height else {
        return Plan { width, height: round(sh * f64::from(width) / sw), crop: whole };
    };
    let (w, h) = (f64::from(width), f64::from(height));
    match fit {
        Fit::Fill => Plan { width, height, crop: whole },
        Fit::Contain => {
            let scale = (w / sw).min(h / sh);
            Plan { width: round(sw * scale).min(width), height: round(sh * scale).min(height), crop: whole }
        }
        Fit::Cover => {
            let scale = (w / sw).max(h / sh);
            let (crop_width, crop_height) = ((w / scale).min(sw), (h / scale).min(sh));
            Plan { width, height, crop: ((sw - crop_width) / 2.0, (sh - crop_height) / 2.0, crop_width, crop_height) }
        }
    }
}

/// How large the source must be decoded (at least) for `plan`: the crop at output size.
pub fn needed(plan: &Plan, source_width: u32, source_height: u32) -> (u32, u32) {
    let (_, _, crop_width, crop_height) = plan.crop;
    let scale_x = f64::from(plan.width) / crop_width;
    let scale_y = f64::from(plan.height) / crop_height;
    ((f64::from(source_width) * scale_x).ceil() as u32, (f64::from(source_height) * scale_y).ceil() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (source size, width, height, fit) → (output size, crop)
    type Case = ((u32, u32), u32, Option<u32>, Fit, (u32, u32), (f64, f64, f64, f64));

    #[test]
    fn sizes_and_crops() {
        let cases: &[Case] = &[
            ((4000, 3000), 256, None, Fit::Contain, (256, 192), (0.0, 0.0, 4000.0, 3000.0)),
            ((3000, 4000), 256, None, Fit::Cover, (256, 341), (0.0, 0.0, 3000.0, 4000.0)),
            ((4000, 3000), 300, Some(300), Fit::Contain, (300, 225), (0.0, 0.0, 4000.0, 3000.0)),
            ((4000, 3000), 300, Some(300), Fit::Cover, (300, 300), (500.0, 0.0, 3000.0, 3000.0)),
            ((4000, 3000), 300, Some(300), Fit::Fill, (300, 300), (0.0, 0.0, 4000.0, 3000.0)),
            ((3000, 4000), 400, Some(100), Fit::Cover, (400, 100), (0.0, 1625.0, 3000.0, 750.0)),
            ((100, 50), 400, Some(400), Fit::Contain, (400, 200), (0.0, 0.0, 100.0, 50.0)),
            ((1, 10000), 10, None, Fit::Contain, (10, 100000), (0.0, 0.0, 1.0, 10000.0)),
            ((10000, 1), 10, None, Fit::Contain, (10, 1), (0.0, 0.0, 10000.0, 1.0)),
        ];
        for &((sw, sh), w, h, fit, (ow, oh), crop) in cases {
            let plan = plan(sw, sh, w, h, fit);
            assert_eq!((plan.width, plan.height, plan.crop), (ow, oh, crop), "{sw}x{sh} → {w}x{h:?} {fit:?}");
        }
        let cover = plan(4000, 3000, 300, Some(300), Fit::Cover);
        assert_eq!(needed(&cover, 4000, 3000), (400, 300), "the 3000-pixel crop must become 300");
    }
}
