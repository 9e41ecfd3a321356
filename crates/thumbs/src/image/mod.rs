//! The pixel pipeline, one image in, one thumbnail out:
//! probe the header and check limits → decode (JPEG shrunk in the DCT domain) → crop
//! and resize (Lanczos3) → apply the EXIF orientation → convert the colour profile to
//! sRGB → encode. Pure functions over bytes; the queue and the HTTP server call [`thumbnail`].

mod color;
mod decode;
pub mod fixtures;
pub mod geometry;
mod idct;
pub mod jpeg;
mod libjpeg;
mod orient;
pub mod probe;
mod resize;
pub mod ssim;
#[cfg(test)]
pub(crate) mod tests;

use probe::InputFormat;

/// Why an image could not be made into a thumbnail. Every variant but `TimedOut` is
/// permanent: the same input fails the same way, so a job goes to the dead-letter queue
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    /// Not a format thumbs reads, or a variant of one it does not (CMYK JPEG, ...).
    #[error("unsupported: {0}")]
    Unsupported(String),
    /// The file is damaged: truncated, inconsistent, not what its header says.
    #[error("corrupt: {0}")]
    Corrupt(String),
    /// Over a limit (input bytes, pixels, decoded bytes), checked before decoding.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The encoder refused the pixels.
    #[error("encoding failed: {0}")]
    Encode(String),
    /// The decode passed [`Limits::deadline`] and was stopped (it may pass another time).
    #[error("stopped at the job's deadline")]
    TimedOut,
}

impl ImageError {
    /// A short label for metrics and the dead-letter queue.
    pub fn kind(&self) -> &'static str {
        match self {
            ImageError::Unsupported(_) => "unsupported",
            ImageError::Corrupt(_) => "corrupt",
            ImageError::TooLarge(_) => "too_large",
            ImageError::Encode(_) => "encode",
            ImageError::TimedOut => "timeout",
        }
    }
}

/// What an input may be, checked from its header before anything is decoded, and when
/// its decoding must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_pixels: u64,
    pub max_input_bytes: u64,
    pub max_decoded_bytes: u64,
    /// A job's timeout as an instant: the JPEG decoder checks it as it goes and stops
    /// (the bulk of a render's time; other formats' decoders cannot be interrupted).
    pub deadline: Option<std::time::Instant>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_pixels: 50_000_000, max_input_bytes: 64 * 1024 * 1024, max_decoded_bytes: 512 * 1024 * 1024, deadline: None }
    }
}

/// How the output fills `width`x`height`; see [`geometry`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    Contain,
    Cover,
    Fill,
}

impl Fit {
    pub fn parse(text: &str) -> Option<Fit> {
        match text {
            "contain" => Some(Fit::Contain),
            "cover" => Some(Fit::Cover),
            "fill" => Some(Fit::Fill),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Fit::Contain => "contain",
            Fit::Cover => "cover",
            Fit::Fill => "fill",
        }
    }
}

/// Formats thumbs writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Webp,
}

impl Format {
    pub fn parse(text: &str) -> Option<Format> {
        match text {
            "jpeg" | "jpg" => Some(Format::Jpeg),
            "png" => Some(Format::Png),
            "webp" => Some(Format::Webp),
            _ => None,
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::Png => "png",
            Format::Webp => "webp",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
            Format::Webp => "image/webp",
        }
    }

    /// `same`: what an input is written as. GIF (first frame) becomes PNG.
    pub fn same_as(input: InputFormat) -> Format {
        match input {
            InputFormat::Jpeg => Format::Jpeg,
            InputFormat::Png | InputFormat::Gif => Format::Png,
            InputFormat::Webp => Format::Webp,
        }
    }
}

/// One thumbnail to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    pub width: u32,
    pub height: Option<u32>,
    pub fit: Fit,
    /// `None`: the input's own format (see [`Format::same_as`]).
    pub format: Option<Format>,
    /// 1-100, for JPEG and WebP.
    pub quality: u8,
    /// Keep the input's colour profile's numbers as they are instead of converting to
    /// sRGB (the profile itself is not embedded in the output).
    pub keep_profile: bool,
}

/// Decoded pixels, rows top to bottom: RGB (3 channels), RGBA (4), or, from a JPEG,
/// its own YCbCr (3, `ycc`), kept until the end so a JPEG-to-JPEG thumbnail never
/// converts colour: resizing commutes with the (affine) YCbCr transform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
    pub ycc: bool,
}

impl Pixels {
    /// RGB or RGBA pixels.
    pub fn new(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Pixels {
        Pixels { width, height, channels, data, ycc: false }
    }

    pub fn expected_len(&self) -> usize {
        self.width as usize * self.height as usize * usize::from(self.channels)
    }

    /// The same pixels as RGB (JFIF's full-range BT.601 YCbCr, as libjpeg converts).
    pub fn into_rgb(self) -> Pixels {
        if !self.ycc {
            return self;
        }
        let clamp = |value: f32| value.round().clamp(0.0, 255.0) as u8;
        let data = self
            .data
            .chunks_exact(3)
            .flat_map(|px| {
                let (y, cb, cr) = (f32::from(px[0]), f32::from(px[1]) - 128.0, f32::from(px[2]) - 128.0);
                [clamp(y + 1.402 * cr), clamp(y - 0.344_136 * cb - 0.714_136 * cr), clamp(y + 1.772 * cb)]
            })
            .collect();
        Pixels { data, ycc: false, ..self }
    }
}

/// A decoded image: interleaved pixels, or a JPEG's YCbCr as it stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum Image {
    Pixels(Pixels),
    Planes(Planes),
}

impl Image {
    /// The whole image as interleaved pixels (YCbCr planes are brought to the full
    /// resolution by the same Lanczos3 filter as a thumbnail).
    pub fn into_pixels(self) -> Result<Pixels, ImageError> {
        match self {
            Image::Pixels(pixels) => Ok(pixels),
            Image::Planes(planes) => {
                let whole = (0.0, 0.0, f64::from(planes.width), f64::from(planes.height));
                resize::resize_planes(&planes, whole, planes.width, planes.height, resize::Chroma::Full)
            }
        }
    }
}

/// A JPEG's Y, Cb and Cr, each a plane at its own resolution: the chroma ones are
/// usually half as wide (4:2:2) or half as wide and high (4:2:0). Resizing each plane
/// straight to the thumbnail's size upsamples the chroma and shrinks in one filter, on
/// a half or a quarter of the samples, and the decoder never interleaves them.
#[derive(Debug, Clone, PartialEq)]
pub struct Planes {
    /// The image's size at the decoded scale (the luma plane's, in every common file).
    pub width: u32,
    pub height: u32,
    pub planes: [Plane; 3],
}

/// One component's samples, rows top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct Plane {
    pub width: u32,
    pub height: u32,
    pub data: Vec<u8>,
    /// Samples per pixel of the image, across and down (1, 1/2, 1/4): the chroma of
    /// a JPEG is centred on the pixels it covers, so a position maps by this factor.
    pub density: (f64, f64),
}

/// A finished thumbnail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Thumbnail {
    pub bytes: Vec<u8>,
    pub width: u32,
    pub height: u32,
    pub format: Format,
}

/// Makes one thumbnail of `input`.
pub fn thumbnail(input: &[u8], spec: &Spec, limits: &Limits) -> Result<Thumbnail, ImageError> {
    let mut thumbnails = thumbnails(input, std::slice::from_ref(spec), limits)?;
    thumbnails.pop().ok_or_else(|| ImageError::Encode("no thumbnail was made".to_owned()))
}

/// Makes a thumbnail of `input` for each of `specs`, decoding it once, at the scale the
/// largest of them needs.
pub fn thumbnails(input: &[u8], specs: &[Spec], limits: &Limits) -> Result<Vec<Thumbnail>, ImageError> {
    let header = probe::probe(input, limits)?;
    let orientation = if header.format == InputFormat::Jpeg { jpeg_orientation(input) } else { 1 };
    let source = Source::decode(input, &header, orientation, specs, limits)?;
    specs
        .iter()
        .map(|spec| {
            let format = spec.format.unwrap_or(Format::same_as(header.format));
            // JPEG (4:2:0) and lossy WebP average chroma over 2x2 pixels.
            let chroma = if format == Format::Png { resize::Chroma::Full } else { resize::Chroma::Half };
            let pixels = source.render(spec, chroma)?;
            let (width, height) = (pixels.width, pixels.height);
            let bytes = match format {
                Format::Jpeg => jpeg::encode(&flatten(pixels), spec.quality)?,
                Format::Png => encode_png(&pixels.into_rgb())?,
                Format::Webp => encode_webp(&pixels.into_rgb(), spec.quality)?,
            };
            Ok(Thumbnail { bytes, width, height, format })
        })
        .collect()
}

/// Decodes, converts, orients and resizes: the thumbnail's pixels, before encoding.
pub fn render(input: &[u8], header: &probe::Header, orientation: u16, spec: &Spec, limits: &Limits) -> Result<Pixels, ImageError> {
    Source::decode(input, header, orientation, std::slice::from_ref(spec), limits)?.render(spec, resize::Chroma::Full)
}

/// An input decoded once for one or more thumbnails.
struct Source {
    image: Image,
    icc: Option<Vec<u8>>,
    orientation: u16,
    /// The input's full size, as stored (before orientation).
    width: u32,
    height: u32,
    /// Decoded pixels per input pixel: n/8 for a JPEG decoded at scale n (1 otherwise).
    /// Exact, not the ratio of the sizes: a scaled decode rounds its size up, so with
    /// 2059 rows at 4/8 the 1,030th row is half past the image's edge.
    scale: f64,
}

impl Source {
    /// Decodes `input`, a JPEG scaled down as far as every one of `specs` allows.
    fn decode(input: &[u8], header: &probe::Header, orientation: u16, specs: &[Spec], limits: &Limits) -> Result<Source, ImageError> {
        let (oriented_width, oriented_height) = oriented(header.width, header.height, orientation);
        let mut scale = 1;
        for spec in specs {
            let plan = geometry::plan(oriented_width, oriented_height, spec.width, spec.height, spec.fit);
            if u64::from(plan.width) * u64::from(plan.height) > limits.max_pixels {
                return Err(ImageError::TooLarge(format!("an output of {}x{} is over the pixel limit", plan.width, plan.height)));
            }
            let (need_width, need_height) = geometry::needed(&plan, oriented_width, oriented_height);
            let (need_width, need_height) = oriented(need_width, need_height, orientation);
            scale = scale.max(jpeg::scale_for(header.width, header.height, need_width, need_height));
        }
        let (image, icc, orientation, scale) = match header.format {
            InputFormat::Jpeg => {
                let decoded = jpeg::decode(input, scale, header.progressive, limits)?;
                (decoded.image, decoded.icc, orientation, f64::from(scale) / 8.0)
            }
            format => {
                let (pixels, icc, orientation) = decode::decode(input, format, header, limits)?;
                (Image::Pixels(pixels), icc, orientation, 1.0)
            }
        };
        Ok(Source { image, icc, orientation, width: header.width, height: header.height, scale })
    }

    /// One thumbnail's pixels: resized in the stored frame, then turned and converted
    /// (only the small result). The crop is planned upright on the full-size input; the
    /// decoded image may be smaller. `chroma`: how far a JPEG's chroma is resized.
    fn render(&self, spec: &Spec, chroma: resize::Chroma) -> Result<Pixels, ImageError> {
        let (oriented_width, oriented_height) = oriented(self.width, self.height, self.orientation);
        let plan = geometry::plan(oriented_width, oriented_height, spec.width, spec.height, spec.fit);
        let stored_crop = orient::crop_to_stored(plan.crop, self.orientation, f64::from(oriented_width), f64::from(oriented_height));
        let (left, top, width, height) = stored_crop;
        let crop = (left * self.scale, top * self.scale, width * self.scale, height * self.scale);
        let (width, height) = oriented(plan.width, plan.height, self.orientation);
        let resized = match &self.image {
            Image::Pixels(pixels) => resize::resize(pixels, crop, width, height)?,
            Image::Planes(planes) => resize::resize_planes(planes, crop, width, height, chroma)?,
        };
        let upright = orient::apply(resized, self.orientation);
        Ok(match (&self.icc, spec.keep_profile) {
            (Some(icc), false) => color::to_srgb(upright.into_rgb(), icc),
            _ => upright,
        })
    }
}

/// `width`x`height` as seen after applying `orientation` (swapped when it transposes).
fn oriented(width: u32, height: u32, orientation: u16) -> (u32, u32) {
    if orient::transposes(orientation) {
        (height, width)
    } else {
        (width, height)
    }
}

/// The EXIF orientation of a JPEG, read from its APP1 segment before decoding (it
/// decides which way the decoder's scale must fit).
pub fn jpeg_orientation(input: &[u8]) -> u16 {
    jpeg::app_segments(input, 0xE1).into_iter().find_map(orient::from_exif_segment).unwrap_or(1)
}

/// The reference the benchmark compares against: the whole image decoded at full size,
/// oriented and converted like [`render`], resized to `width`x`height` in one Lanczos3
/// step, without shrink-on-load.
pub fn reference(input: &[u8], spec: &Spec, limits: &Limits, width: u32, height: u32) -> Result<Pixels, ImageError> {
    let header = probe::probe(input, limits)?;
    let orientation = if header.format == InputFormat::Jpeg { jpeg_orientation(input) } else { 1 };
    let (full_width, full_height) = oriented(header.width, header.height, orientation);
    let full_size = Spec { width: full_width, height: Some(full_height), fit: Fit::Fill, ..spec.clone() };
    let full = render(input, &header, orientation, &full_size, limits)?;
    let flat = flatten(full);
    resize::resize(&flat, (0.0, 0.0, f64::from(flat.width), f64::from(flat.height)), width, height)
}

/// RGBA over white, for formats without alpha.
fn flatten(pixels: Pixels) -> Pixels {
    if pixels.channels == 3 || pixels.ycc {
        return pixels;
    }
    let data = pixels
        .data
        .chunks_exact(4)
        .flat_map(|px| {
            let alpha = u32::from(px[3]);
            let over_white = |channel: u8| ((u32::from(channel) * alpha + 255 * (255 - alpha) + 127) / 255) as u8;
            [over_white(px[0]), over_white(px[1]), over_white(px[2])]
        })
        .collect();
    Pixels { channels: 3, data, ..pixels }
}

pub(crate) fn encode_png(pixels: &Pixels) -> Result<Vec<u8>, ImageError> {
    let color = if pixels.channels == 4 { image::ExtendedColorType::Rgba8 } else { image::ExtendedColorType::Rgb8 };
    let mut out = Vec::with_capacity(pixels.data.len() / 2);
    let encoder = image::codecs::png::PngEncoder::new_with_quality(
        &mut out,
        image::codecs::png::CompressionType::Fast,
        image::codecs::png::FilterType::Adaptive,
    );
    image::ImageEncoder::write_image(encoder, &pixels.data, pixels.width, pixels.height, color)
        .map_err(|error| ImageError::Encode(format!("PNG: {error}")))?;
    Ok(out)
}

fn encode_webp(pixels: &Pixels, quality: u8) -> Result<Vec<u8>, ImageError> {
    let encoder = if pixels.channels == 4 {
        webp::Encoder::from_rgba(&pixels.data, pixels.width, pixels.height)
    } else {
        webp::Encoder::from_rgb(&pixels.data, pixels.width, pixels.height)
    };
    let encoded = encoder.encode_simple(false, f32::from(quality)).map_err(|error| ImageError::Encode(format!("WebP: {error:?}")))?;
    Ok(encoded.to_vec())
}
