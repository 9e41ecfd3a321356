//! What an input is, read from its first bytes without decoding it: the format and the
//! pixel dimensions its header declares, so limits are checked before any allocation.

use super::{ImageError, Limits};

/// Formats thumbs reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Jpeg,
    Png,
    Gif,
    Webp,
}

impl InputFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Jpeg => "jpeg",
            InputFormat::Png => "png",
            InputFormat::Gif => "gif",
            InputFormat::Webp => "webp",
        }
    }
}

/// An input's format and declared size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: InputFormat,
    pub width: u32,
    pub height: u32,
    /// A progressive JPEG (scans of increasing detail).
    pub progressive: bool,
}

/// Reads the header of `input` and checks it against `limits`.
pub fn probe(input: &[u8], limits: &Limits) -> Result<Header, ImageError> {
    if input.is_empty() {
        return Err(ImageError::Corrupt("empty file".to_owned()));
    }
    if input.len() as u64 > limits.max_input_bytes {
        return Err(ImageError::TooLarge(format!("{} bytes, more than the limit of {}", input.len(), limits.max_input_bytes)));
    }
    let header = if input.starts_with(&[0xFF, 0xD8, 0xFF]) {
        jpeg(input)?
    } else if input.starts_with(b"\x89PNG\r\n\x1a\n") {
        png(input)?
    } else if input.starts_with(b"GIF87a") || input.starts_with(b"GIF89a") {
        let size = |at: usize| u32::from(u16::from_le_bytes([input[at], input[at + 1]]));
        if input.len() < 10 {
            return Err(ImageError::Corrupt("truncated GIF header".to_owned()));
        }
        Header { format: InputFormat::Gif, width: size(6), height: size(8), progressive: false }
    } else if input.len() >= 12 && &input[..4] == b"RIFF" && &input[8..12] == b"WEBP" {
        webp(input)?
    } else {
        return Err(ImageError::Unsupported("not a JPEG, PNG, GIF or WebP image".to_owned()));
    };
    if header.width == 0 || header.height == 0 {
        return Err(ImageError::Corrupt(format!("{} declares a size of {}x{}", header.format.as_str(), header.width, header.height)));
    }
    let pixels = u64::from(header.width) * u64::from(header.height);
    if pixels > limits.max_pixels {
        return Err(ImageError::TooLarge(format!(
            "{}x{} is {:.1} MP, more than the limit of {:.1} MP",
            header.width,
            header.height,
            pixels as f64 / 1e6,
            limits.max_pixels as f64 / 1e6
        )));
    }
    // Four bytes a pixel decoded (RGBA), the most a full-size decode holds. A
    // progressive JPEG also keeps its coefficients (2 bytes a sample, up to 6 a pixel):
    // libjpeg itself refuses past the same limit (`jpeg::decode`).
    if pixels * 4 > limits.max_decoded_bytes {
        return Err(ImageError::TooLarge(format!(
            "{}x{} would decode to {} bytes, more than the limit",
            header.width,
            header.height,
            pixels * 4
        )));
    }
    Ok(header)
}

/// JPEG: the frame header (SOF0-SOF15 except DHT, JPG and DAC) gives the size.
fn jpeg(input: &[u8]) -> Result<Header, ImageError> {
    let mut at = 2;
    while at + 4 <= input.len() {
        if input[at] != 0xFF {
            return Err(ImageError::Corrupt("JPEG markers out of order".to_owned()));
        }
        let marker = input[at + 1];
        if marker == 0xFF {
            at += 1;
            continue;
        }
        let length = usize::from(u16::from_be_bytes([input[at + 2], input[at + 3]]));
        let is_frame = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_frame {
            let frame = input.get(at + 4..at + 2 + length).filter(|frame| frame.len() >= 6).ok_or_else(|| truncated("JPEG"))?;
            let height = u32::from(u16::from_be_bytes([frame[1], frame[2]]));
            let width = u32::from(u16::from_be_bytes([frame[3], frame[4]]));
            if !(0xC0..=0xC2).contains(&marker) {
                return Err(ImageError::Unsupported(format!("JPEG coding process SOF{} (lossless or arithmetic)", marker - 0xC0)));
            }
            return Ok(Header { format: InputFormat::Jpeg, width, height, progressive: marker == 0xC2 });
        }
        if marker == 0xDA || marker == 0xD9 {
            break;
        }
        at += 2 + length;
    }
    Err(ImageError::Corrupt("JPEG has no frame header".to_owned()))
}

fn png(input: &[u8]) -> Result<Header, ImageError> {
    let ihdr = input.get(8..24).ok_or_else(|| truncated("PNG"))?;
    if &ihdr[4..8] != b"IHDR" {
        return Err(ImageError::Corrupt("PNG does not start with IHDR".to_owned()));
    }
    let width = u32::from_be_bytes([ihdr[8], ihdr[9], ihdr[10], ihdr[11]]);
    let height = u32::from_be_bytes([ihdr[12], ihdr[13], ihdr[14], ihdr[15]]);
    Ok(Header { format: InputFormat::Png, width, height, progressive: false })
}

fn webp(input: &[u8]) -> Result<Header, ImageError> {
    let chunk = input.get(12..30).ok_or_else(|| truncated("WebP"))?;
    let (width, height) = match &chunk[..4] {
        // Lossy: the frame header after a 3-byte tag and the start code.
        b"VP8 " => {
            let frame = &chunk[8..];
            (u32::from(u16::from_le_bytes([frame[6], frame[7]]) & 0x3FFF), u32::from(u16::from_le_bytes([frame[8], frame[9]]) & 0x3FFF))
        }
        // Lossless: 14-bit width-1 and height-1 after the signature byte.
        b"VP8L" => {
            let bits = u32::from_le_bytes([chunk[9], chunk[10], chunk[11], chunk[12]]);
            ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        }
        // Extended: 24-bit canvas width-1 and height-1.
        b"VP8X" => {
            let three = |at: usize| u32::from(chunk[at]) | u32::from(chunk[at + 1]) << 8 | u32::from(chunk[at + 2]) << 16;
            (three(12) + 1, three(15) + 1)
        }
        _ => return Err(ImageError::Corrupt("unknown WebP chunk".to_owned())),
    };
    Ok(Header { format: InputFormat::Webp, width, height, progressive: false })
}

fn truncated(format: &str) -> ImageError {
    ImageError::Corrupt(format!("truncated {format} header"))
}
