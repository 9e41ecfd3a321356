//! Images made in code for tests and demos: plain, oriented, with alpha, and hostile
//! ones (the inputs the dead-letter queue is for).

use super::{encode_png, jpeg, Pixels};

/// A `width`x`height` JPEG whose left half is red and right half blue, so orientation
/// shows; with `orientation`, an EXIF APP1 segment saying so.
pub fn jpeg(width: u32, height: u32, orientation: Option<u16>) -> Vec<u8> {
    let data: Vec<u8> =
        (0..height).flat_map(|_| (0..width).flat_map(move |x| if x < width / 2 { [220, 20, 20] } else { [20, 20, 220] })).collect();
    let plain = jpeg::encode(&Pixels::new(width, height, 3, data), 90).expect("encode");
    let Some(orientation) = orientation else { return plain };
    // TIFF, little-endian, IFD0 with one entry: Orientation (0x0112), SHORT, 1 value.
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00".to_vec();
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&u16::try_from(app1.len() + 2).expect("small").to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&plain[2..]);
    out
}

/// A `width`x`height` PNG with alternating transparent pixels.
pub fn png_rgba(width: u32, height: u32) -> Vec<u8> {
    let data: Vec<u8> = (0..width * height).flat_map(|i| [0, 128, 255, if i % 2 == 0 { 0 } else { 200 }]).collect();
    encode_png(&Pixels::new(width, height, 4, data)).expect("png")
}

/// Files that must each land in the dead-letter queue with a reason: (name, bytes).
pub fn hostile() -> Vec<(&'static str, Vec<u8>)> {
    let good = jpeg(64, 64, None);
    let mut huge = png_rgba(4, 4);
    huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    vec![
        ("empty.jpg", Vec::new()),
        ("not-an-image.jpg", b"%PDF-1.7 hello".to_vec()),
        ("truncated.jpg", good[..good.len() / 2].to_vec()),
        ("huge.png", huge),
        ("bomb.png", bomb()),
    ]
}

/// A decompression bomb: 8000x8000 (64 MP, over the default 50 MP) of one colour, under
/// 1 MB on disk.
pub fn bomb() -> Vec<u8> {
    let data = vec![0u8; 8000 * 8000 * 3];
    encode_png(&Pixels::new(8000, 8000, 3, data)).unwrap_or_default()
}
