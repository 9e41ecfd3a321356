//! The pipeline on images made here: sizes and fits, orientation, alpha, GIF, and the
//! hostile inputs the dead-letter queue is for.

use super::fixtures::{jpeg, png_rgba};
use super::*;

fn spec(width: u32, height: Option<u32>, fit: Fit, format: Option<Format>) -> Spec {
    Spec { width, height, fit, format, quality: 80, keep_profile: false }
}

fn decode_output(thumbnail: &Thumbnail) -> Pixels {
    match thumbnail.format {
        Format::Jpeg => jpeg::decode(&thumbnail.bytes, 8, false, &Limits::default())
            .expect("decode jpeg")
            .image
            .into_pixels()
            .expect("pixels")
            .into_rgb(),
        _ => {
            let image = ::image::load_from_memory(&thumbnail.bytes).expect("decode");
            let rgba = image.into_rgba8();
            Pixels::new(rgba.width(), rgba.height(), 4, rgba.into_raw())
        }
    }
}

#[test]
fn outputs_have_exactly_the_planned_size() {
    let source = jpeg(1600, 1200, None);
    let cases = [
        (spec(256, None, Fit::Contain, None), (256, 192), Format::Jpeg),
        (spec(300, Some(300), Fit::Cover, Some(Format::Webp)), (300, 300), Format::Webp),
        (spec(300, Some(300), Fit::Contain, Some(Format::Png)), (300, 225), Format::Png),
        (spec(123, Some(77), Fit::Fill, Some(Format::Jpeg)), (123, 77), Format::Jpeg),
        (spec(2000, None, Fit::Contain, None), (2000, 1500), Format::Jpeg),
    ];
    for (spec, size, format) in &cases {
        let thumbnail = thumbnail(&source, spec, &Limits::default()).expect("thumbnail");
        assert_eq!(((thumbnail.width, thumbnail.height), thumbnail.format), (*size, *format), "{spec:?}");
        let decoded = decode_output(&thumbnail);
        assert_eq!((decoded.width, decoded.height), *size, "the encoded file has the size too");
    }
    // All at once (one decode, at the scale the largest needs): the same sizes, in order.
    let specs: Vec<Spec> = cases.iter().map(|(spec, _, _)| spec.clone()).collect();
    let all = thumbnails(&source, &specs, &Limits::default()).expect("thumbnails");
    let sizes: Vec<(u32, u32)> = all.iter().map(|thumbnail| (thumbnail.width, thumbnail.height)).collect();
    assert_eq!(sizes, cases.iter().map(|(_, size, _)| *size).collect::<Vec<_>>());
}

/// A minimal ICC v2 display profile: sRGB's primaries and white point (D50-adapted) with
/// a linear tone curve, so its grey 128 is sRGB's ~188.
fn linear_srgb_profile() -> Vec<u8> {
    let fixed = |value: f64| ((value * 65536.0).round() as i32).to_be_bytes();
    let xyz = |x: f64, y: f64, z: f64| [&b"XYZ \0\0\0\0"[..], &fixed(x), &fixed(y), &fixed(z)].concat();
    let curve = [&b"curv\0\0\0\0"[..], &1u32.to_be_bytes(), &[1, 0, 0, 0]].concat(); // gamma 1.0 (u8.8), padded
    let tags: [(&[u8; 4], Vec<u8>); 4] = [
        (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
        (b"rXYZ", xyz(0.4361, 0.2225, 0.0139)),
        (b"gXYZ", xyz(0.3851, 0.7169, 0.0971)),
        (b"bXYZ", xyz(0.1431, 0.0606, 0.7141)),
    ];
    let table_len = 4 + 12 * (tags.len() + 3);
    let mut data = Vec::new();
    let mut entries = Vec::new();
    for (signature, body) in &tags {
        entries.push((*signature, 128 + table_len + data.len(), body.len()));
        data.extend_from_slice(body);
    }
    let curve_at = 128 + table_len + data.len();
    data.extend_from_slice(&curve);
    for signature in [b"rTRC", b"gTRC", b"bTRC"] {
        entries.push((signature, curve_at, curve.len()));
    }
    let size = 128 + table_len + data.len();
    let mut profile = vec![0u8; 128];
    profile[0..4].copy_from_slice(&(size as u32).to_be_bytes());
    profile[8..12].copy_from_slice(&[2, 0x10, 0, 0]);
    profile[12..16].copy_from_slice(b"mntr");
    profile[16..20].copy_from_slice(b"RGB ");
    profile[20..24].copy_from_slice(b"XYZ ");
    profile[36..40].copy_from_slice(b"acsp");
    profile[68..80].copy_from_slice(&[fixed(0.9642), fixed(1.0), fixed(0.8249)].concat());
    profile.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for (signature, offset, length) in entries {
        profile.extend_from_slice(signature);
        profile.extend_from_slice(&(offset as u32).to_be_bytes());
        profile.extend_from_slice(&(length as u32).to_be_bytes());
    }
    profile.extend_from_slice(&data);
    profile
}

#[test]
fn an_embedded_colour_profile_is_converted_to_srgb_unless_kept() {
    let grey = jpeg::encode(&Pixels::new(64, 64, 3, vec![128; 64 * 64 * 3]), 95).expect("encode");
    let profile = linear_srgb_profile();
    let mut app2 = b"ICC_PROFILE\0\x01\x01".to_vec();
    app2.extend_from_slice(&profile);
    let mut source = vec![0xFF, 0xD8, 0xFF, 0xE2];
    source.extend_from_slice(&u16::try_from(app2.len() + 2).expect("small").to_be_bytes());
    source.extend_from_slice(&app2);
    source.extend_from_slice(&grey[2..]);
    let centre = |keep_profile: bool| {
        let spec = Spec { keep_profile, ..spec(32, None, Fit::Contain, Some(Format::Png)) };
        let pixels = decode_output(&thumbnail(&source, &spec, &Limits::default()).expect("thumbnail"));
        let i = ((16 * pixels.width + 16) * u32::from(pixels.channels)) as usize;
        [pixels.data[i], pixels.data[i + 1], pixels.data[i + 2]]
    };
    let converted = centre(false);
    assert!(converted.iter().all(|&value| value.abs_diff(188) <= 2), "linear 128 is sRGB ~188: {converted:?}");
    assert!(centre(true).iter().all(|&value| value.abs_diff(128) <= 1), "kept: the numbers as stored");
}

#[test]
fn exif_orientation_is_applied() {
    // Stored 400x200, left red; orientation 6 (turn 90° clockwise): upright 200x400 with
    // red on top.
    let source = jpeg(400, 200, Some(6));
    assert_eq!(jpeg_orientation(&source), 6);
    let thumbnail = thumbnail(&source, &spec(100, None, Fit::Contain, None), &Limits::default()).expect("thumbnail");
    assert_eq!((thumbnail.width, thumbnail.height), (100, 200));
    let pixels = decode_output(&thumbnail);
    let at = |x: u32, y: u32| {
        let i = ((y * pixels.width + x) * 3) as usize;
        (pixels.data[i], pixels.data[i + 2])
    };
    let (top_red, top_blue) = at(50, 20);
    let (bottom_red, bottom_blue) = at(50, 180);
    assert!(top_red > 150 && top_blue < 100, "top is red: {:?}", at(50, 20));
    assert!(bottom_blue > 150 && bottom_red < 100, "bottom is blue: {:?}", at(50, 180));
}

#[test]
fn alpha_is_kept_for_png_and_webp_and_flattened_for_jpeg() {
    let source = png_rgba(64, 64);
    let png = thumbnail(&source, &spec(32, None, Fit::Contain, None), &Limits::default()).expect("png");
    assert_eq!(png.format, Format::Png, "same format as the input");
    let pixels = decode_output(&png);
    assert!(pixels.data.chunks_exact(4).any(|px| px[3] < 255), "transparency survives");
    let webp = thumbnail(&source, &spec(32, None, Fit::Contain, Some(Format::Webp)), &Limits::default()).expect("webp");
    assert!(decode_output(&webp).data.chunks_exact(4).any(|px| px[3] < 255));
    let jpeg = thumbnail(&source, &spec(32, None, Fit::Contain, Some(Format::Jpeg)), &Limits::default()).expect("jpeg");
    assert_eq!(decode_output(&jpeg).channels, 3);
}

#[test]
fn an_animated_gif_gives_its_first_frame() {
    let mut bytes = Vec::new();
    {
        let mut encoder = ::image::codecs::gif::GifEncoder::new(&mut bytes);
        for color in [[255u8, 0, 0, 255], [0, 0, 255, 255]] {
            let frame = ::image::RgbaImage::from_pixel(20, 10, ::image::Rgba(color));
            encoder.encode_frame(::image::Frame::new(frame)).expect("frame");
        }
    }
    let thumbnail = thumbnail(&bytes, &spec(10, None, Fit::Contain, None), &Limits::default()).expect("gif");
    assert_eq!((thumbnail.format, thumbnail.width, thumbnail.height), (Format::Png, 10, 5));
    let pixels = decode_output(&thumbnail);
    assert!(pixels.data[0] > 200 && pixels.data[2] < 50, "the first frame is red");
}

#[test]
fn hostile_inputs_are_refused_with_a_reason() {
    let good = jpeg(64, 64, None);
    let mut huge_png = png_rgba(4, 4);
    huge_png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    huge_png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let bomb = super::fixtures::bomb();
    let small_limits = Limits { max_pixels: 10_000_000, ..Limits::default() };
    let cases: &[(&str, Vec<u8>, &str)] = &[
        ("empty", Vec::new(), "corrupt: empty file"),
        ("not an image", b"%PDF-1.7 hello".to_vec(), "unsupported: not a JPEG, PNG, GIF or WebP image"),
        ("truncated JPEG", good[..good.len() / 2].to_vec(), "corrupt: truncated JPEG"),
        ("garbage after a JPEG header", [&good[..200], &[0u8; 100][..], &[0xFF, 0xD9]].concat(), "corrupt:"),
        ("100000x100000 PNG", huge_png, "too large: 100000x100000 is 10000.0 MP"),
        ("decompression bomb", bomb.clone(), "too large: 8000x8000 is 64.0 MP"),
    ];
    assert!(bomb.len() < 1_000_000, "192 MB of pixels in under 1 MB on disk: {} bytes", bomb.len());
    for (what, input, expected) in cases {
        let error = thumbnail(input, &spec(100, None, Fit::Contain, None), &small_limits).expect_err(what);
        assert!(error.to_string().starts_with(expected), "{what}: {error}");
    }
    let over_bytes = Limits { max_input_bytes: 100, ..Limits::default() };
    assert_eq!(thumbnail(&good, &spec(10, None, Fit::Contain, None), &over_bytes).expect_err("bytes").kind(), "too_large");
}

/// A progressive JPEG of a busy pattern, made by libjpeg's default progressive script;
/// 4:2:0, or 4:4:4 with `full_chroma`.
fn progressive_jpeg(width: usize, height: usize, full_chroma: bool) -> Vec<u8> {
    let data: Vec<u8> = (0..width * height).flat_map(|i| [(i % 251) as u8, (i / width % 256) as u8, ((i * 7) % 256) as u8]).collect();
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width, height);
    if full_chroma {
        compress.set_chroma_sampling_pixel_sizes((1, 1), (1, 1));
    }
    compress.set_progressive_mode();
    let mut started = compress.start_compress(Vec::new()).expect("start");
    started.write_scanlines(&data).expect("write");
    started.finish().expect("finish")
}

#[test]
fn progressive_jpegs_stay_within_the_decoded_bytes_limit() {
    // 4:4:4 progressive: libjpeg keeps every coefficient, 6 bytes a pixel, more than the
    // 4 a pixel the header check allows for.
    let (width, height) = (512, 384);
    let progressive = progressive_jpeg(width, height, true);
    let pixels = (width * height) as u64;
    let tight = Limits { max_decoded_bytes: pixels * 5, ..Limits::default() };
    let error = thumbnail(&progressive, &spec(256, None, Fit::Contain, None), &tight).expect_err("over the limit");
    assert_eq!(error.kind(), "too_large", "{error}");
    let roomy = Limits { max_decoded_bytes: pixels * 8, ..Limits::default() };
    assert!(thumbnail(&progressive, &spec(256, None, Fit::Contain, None), &roomy).is_ok());
}

#[test]
fn dc_only_decoding_of_progressive_jpegs_is_exact() {
    let progressive = progressive_jpeg(512, 384, false);
    let reduced = jpeg::dc_scans_only(&progressive).expect("progressive");
    assert!(reduced.len() < progressive.len());
    let whole = jpeg::decode(&progressive, 1, false, &Limits::default()).expect("whole").image;
    let fast = jpeg::decode(&progressive, 1, true, &Limits::default()).expect("dc only").image;
    let Image::Planes(planes) = &whole else { panic!("a YCbCr JPEG decodes to planes") };
    assert_eq!((planes.width, planes.height), (64, 48));
    assert_eq!(whole, fast, "bit for bit");

    // An RGB JPEG with two components subsampled: libjpeg decodes those at twice the
    // size (it upsamples them), which reads AC terms; the whole file is decoded again.
    let data: Vec<u8> = (0..256 * 192).flat_map(|i| [(i % 251) as u8, (i / 256 % 256) as u8, ((i * 7) % 256) as u8]).collect();
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(256, 192);
    compress.set_color_space(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
    compress.set_progressive_mode();
    let mut started = compress.start_compress(Vec::new()).expect("start");
    started.write_scanlines(&data).expect("write");
    let rgb = started.finish().expect("finish");
    let whole = jpeg::decode(&rgb, 1, false, &Limits::default()).expect("whole").image;
    let Image::Pixels(pixels) = &whole else { panic!("an RGB JPEG decodes to pixels") };
    assert!(!pixels.ycc && (pixels.width, pixels.height) == (32, 24));
    assert_eq!(jpeg::decode(&rgb, 1, true, &Limits::default()).expect("dc only, then whole").image, whole, "bit for bit");
}

#[test]
fn damaged_jpegs_are_errors_or_thumbnails_never_crashes() {
    // Seeded byte flips, truncations and splices of a baseline and a progressive file,
    // through every decoder scale: libjpeg's errors unwind through our IDCTs and FFI.
    let baseline = jpeg(200, 150, Some(3));
    let progressive = progressive_jpeg(160, 120, false);
    let mut rng = fastrand::Rng::with_seed(7);
    let (mut made, mut refused) = (0, 0);
    for round in 0..300 {
        let source = if round % 2 == 0 { &baseline } else { &progressive };
        let mut damaged = source.clone();
        for _ in 0..rng.usize(1..6) {
            let at = rng.usize(..damaged.len());
            damaged[at] = rng.u8(..);
        }
        if round % 5 == 0 {
            damaged.truncate(rng.usize(2..damaged.len()));
            damaged.extend_from_slice(&[0xFF, 0xD9]);
        }
        let width = [8, 25, 50, 100, 190][round % 5];
        match thumbnail(&damaged, &spec(width, None, Fit::Contain, None), &Limits::default()) {
            Ok(_) => made += 1,
            Err(_) => refused += 1,
        }
    }
    assert!(made > 0 && refused > 0, "both outcomes seen: {made} made, {refused} refused");
}

/// A scaled decode rounds its size up (515 rows at 4/8 decode to 258, the last half past
/// the image's edge); the thumbnail is mapped by the exact scale, not by the rounded
/// size, which stretched the image by half a decoded row. Smooth content, where the
/// stretch shows as a shifted gradient: compared with the one-step reference.
#[test]
fn a_scaled_decode_is_mapped_by_its_exact_scale_not_its_rounded_size() {
    let (width, height) = (512usize, 515usize);
    let wave = |i: usize| (127.5 + 120.0 * ((i / width) as f64 / 9.0).sin()) as u8;
    let data: Vec<u8> = (0..width * height).flat_map(|i| [wave(i); 3]).collect();
    let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
    compress.set_size(width, height);
    compress.set_quality(95.0);
    let mut started = compress.start_compress(Vec::new()).expect("start");
    started.write_scanlines(&data).expect("write");
    let input = started.finish().expect("finish");
    let spec = spec(128, None, Fit::Contain, None);
    assert_eq!(jpeg::scale_for(512, 515, 128, 129), 4, "decoded at 4/8: 256x258 for 257.5 rows");
    let thumbnail = thumbnail(&input, &spec, &Limits::default()).expect("thumbnail");
    let reference = reference(&input, &spec, &Limits::default(), thumbnail.width, thumbnail.height).expect("reference");
    let score = ssim::ssim(&decode_output(&thumbnail), &reference.into_rgb()).expect("same size");
    // 0.99988 mapped by the exact scale; 0.99632 by the rounded size.
    assert!(score > 0.999, "SSIM against the reference {score:.5}");
}
