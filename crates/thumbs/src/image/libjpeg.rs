//! A JPEG decoder over libjpeg-turbo's C library (`mozjpeg-sys`), with its inverse DCTs
//! replaced by [`super::idct`]'s when the image is scaled down.
//!
//! libjpeg picks an IDCT per component when decompression starts and keeps the choice in
//! its `jpeg_inverse_dct` object, a table of function pointers (libjpeg's modules are
//! all such objects), for which it has no public API and `mozjpeg-sys` no field. We
//! find it as the fourth-from-last field of `jpeg_decompress_struct` (the last four are
//! always `idct`, `upsample`, `cconvert` and `cquantize` pointers) and change only the
//! entries that point at libjpeg's own IDCTs for the sizes a scaled decode can pick (1 to
//! 8, 10, 12, 14): if any entry is something else, nothing is replaced.
//!
//! Errors: libjpeg's `error_exit` here unwinds with the library's message; the caller
//! runs [`decode`] inside `catch_unwind`, and `Drop` releases libjpeg's memory.

#![allow(unsafe_code, reason = "FFI to libjpeg; with idct::sse2, the only unsafe code in the workspace")]

use std::ffi::c_void;
use std::mem::size_of;
use std::os::raw::{c_int, c_long, c_ulong};
use std::time::Instant;

use mozjpeg_sys as ffi;

use super::idct;
use super::ImageError;

/// What libjpeg produced: `components` bytes per pixel in its output colour space.
pub struct Output {
    pub width: u32,
    pub height: u32,
    pub components: u8,
    pub color: ffi::J_COLOR_SPACE,
    pub data: Vec<u8>,
    /// Whether the scaled IDCTs were replaced (false at full size or if not found).
    #[cfg(test)]
    pub fast_idct: bool,
}

type InverseDct = unsafe extern "C-unwind" fn(
    cinfo: *mut ffi::jpeg_decompress_struct,
    compptr: *mut ffi::jpeg_component_info,
    coefficients: *mut i16,
    output: *mut *mut u8,
    output_col: ffi::JDIMENSION,
);

/// libjpeg's `struct jpeg_inverse_dct` (jpegint.h); `MAX_COMPONENTS` is 10.
#[repr(C)]
struct InverseDctModule {
    start_pass: Option<unsafe extern "C-unwind" fn(*mut ffi::jpeg_decompress_struct)>,
    inverse_dct: [Option<InverseDct>; 10],
}

/// For each IDCT libjpeg may pick when scaling (by output block size), the symbol it
/// uses and ours; a macro because every size is its own C symbol and its own table.
macro_rules! replacements {
    ($(($size:literal, $vectors:literal, $theirs:ident, $ours:ident)),* $(,)?) => {
        extern "C-unwind" {
            $(fn $theirs(
                cinfo: *mut ffi::jpeg_decompress_struct,
                compptr: *mut ffi::jpeg_component_info,
                coefficients: *mut i16,
                output: *mut *mut u8,
                output_col: ffi::JDIMENSION,
            );)*
        }

        $(unsafe extern "C-unwind" fn $ours(
            _cinfo: *mut ffi::jpeg_decompress_struct,
            compptr: *mut ffi::jpeg_component_info,
            coefficients: *mut i16,
            output: *mut *mut u8,
            output_col: ffi::JDIMENSION,
        ) {
            #[cfg(target_arch = "x86_64")]
            let transform = {
                static TABLES: std::sync::LazyLock<idct::sse2::Tables<$size, $vectors>> = std::sync::LazyLock::new(idct::sse2::Tables::new);
                |coefficients: &[i16; 64], quant: &[u16; 64]| idct::sse2::idct(coefficients, quant, &TABLES)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let transform = {
                static BASIS: std::sync::LazyLock<idct::Basis<$size>> = std::sync::LazyLock::new(idct::Basis::new);
                |coefficients: &[i16; 64], quant: &[u16; 64]| idct::idct(coefficients, quant, &BASIS)
            };
            // SAFETY: libjpeg calls this as it would the IDCT it replaces (same block size).
            unsafe { scaled_idct(compptr, coefficients, output, output_col, transform) }
        })*

        /// (libjpeg's, ours) for every replaced IDCT.
        const REPLACEMENTS: &[(InverseDct, InverseDct)] = &[$(($theirs, $ours)),*];
    };
}

replacements![
    (1, 1, jpeg_idct_1x1, idct_1x1),
    (2, 1, jpeg_idct_2x2, idct_2x2),
    (3, 1, jpeg_idct_3x3, idct_3x3),
    (4, 1, jpeg_idct_4x4, idct_4x4),
    (5, 2, jpeg_idct_5x5, idct_5x5),
    (6, 2, jpeg_idct_6x6, idct_6x6),
    (7, 2, jpeg_idct_7x7, idct_7x7),
    (8, 2, jpeg_idct_islow, idct_8x8),
    (10, 3, jpeg_idct_10x10, idct_10x10),
    (12, 3, jpeg_idct_12x12, idct_12x12),
    (14, 4, jpeg_idct_14x14, idct_14x14),
];

/// One libjpeg decompressor; destroyed on drop, also when a libjpeg error unwinds.
struct Decompressor {
    cinfo: Box<ffi::jpeg_decompress_struct>,
    _errors: Box<ffi::jpeg_error_mgr>,
}

impl Decompressor {
    fn new() -> Decompressor {
        // SAFETY: both structs are plain C data for which all-zero is the state libjpeg
        // expects before `jpeg_std_error` and `jpeg_CreateDecompress` fill them in.
        unsafe {
            let mut errors: Box<ffi::jpeg_error_mgr> = Box::new(std::mem::zeroed());
            ffi::jpeg_std_error(&mut errors);
            errors.error_exit = Some(unwind_on_error);
            errors.emit_message = Some(ignore_warning);
            let mut cinfo: Box<ffi::jpeg_decompress_struct> = Box::new(std::mem::zeroed());
            cinfo.common.err = &mut *errors;
            ffi::jpeg_create_decompress(&mut *cinfo);
            Decompressor { cinfo, _errors: errors }
        }
    }
}

impl Drop for Decompressor {
    fn drop(&mut self) {
        // SAFETY: created in `new`; destroying also frees whatever a failed decode left.
        unsafe { ffi::jpeg_destroy_decompress(&mut self.cinfo) }
    }
}

/// What a decode unwinds with when libjpeg's buffers would pass `max_memory` (libjpeg
/// asks for a backing store it does not have).
pub struct OverMemoryLimit;

/// What a decode unwinds with once it is past its deadline.
pub struct PastDeadline;

/// libjpeg's progress manager (called after every row of blocks, in every pass) with the
/// deadline beside it: the callback gets the manager's address, which is this struct's.
#[repr(C)]
struct Progress {
    manager: ffi::jpeg_progress_mgr,
    deadline: Instant,
}

extern "C-unwind" fn check_deadline(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: `progress` points at the `manager` field, the first, of the `Progress`
    // that `decode` installed and keeps alive until libjpeg is done.
    let deadline = unsafe { (*(cinfo.progress as *const Progress)).deadline };
    if Instant::now() >= deadline {
        std::panic::resume_unwind(Box::new(PastDeadline));
    }
}

extern "C-unwind" fn unwind_on_error(cinfo: &mut ffi::jpeg_common_struct) {
    // SAFETY: `err` is the manager set in `Decompressor::new`.
    if unsafe { (*cinfo.err).msg_code } == ffi::JERR_NO_BACKING_STORE as c_int {
        std::panic::resume_unwind(Box::new(OverMemoryLimit));
    }
    let mut buffer = [0u8; 80];
    // SAFETY: `err` is the manager set in `Decompressor::new`; `format_message` writes
    // at most JMSG_LENGTH_MAX (80) bytes, NUL-terminated.
    let message = unsafe {
        match (*cinfo.err).format_message {
            Some(format) => {
                let format: unsafe extern "C-unwind" fn(&mut ffi::jpeg_common_struct, *mut u8) = std::mem::transmute(format);
                format(cinfo, buffer.as_mut_ptr());
                let end = buffer.iter().position(|&byte| byte == 0).unwrap_or(buffer.len());
                String::from_utf8_lossy(&buffer[..end]).into_owned()
            }
            None => format!("libjpeg error {}", (*cinfo.err).msg_code),
        }
    };
    std::panic::resume_unwind(Box::new(message));
}

extern "C-unwind" fn ignore_warning(_cinfo: &mut ffi::jpeg_common_struct, _level: c_int) {}

/// Decodes `input` scaled by `scale`/8, to YCbCr when the file is YCbCr, grey when grey,
/// RGB otherwise; CMYK is refused. libjpeg may hold at most `max_memory` bytes for its
/// whole-image buffers (a progressive file's coefficients: 2 bytes a sample).
///
/// Panics (unwinds) with libjpeg's message on a fatal error, [`OverMemoryLimit`], or
/// [`PastDeadline`] once `deadline` has passed.
pub fn decode(input: &[u8], scale: u8, max_memory: u64, deadline: Option<Instant>) -> Result<Output, ImageError> {
    // Declared first, so that it outlives the decompressor that points at it.
    let mut progress = deadline.map(|deadline| {
        // SAFETY: all-zero is a valid jpeg_progress_mgr (no callback, zero counters).
        let manager = ffi::jpeg_progress_mgr { progress_monitor: Some(check_deadline), ..unsafe { std::mem::zeroed() } };
        Box::new(Progress { manager, deadline })
    });
    let mut decompressor = Decompressor::new();
    let cinfo = &mut *decompressor.cinfo;
    if let Some(progress) = progress.as_mut() {
        cinfo.common.progress = &mut progress.manager;
    }
    // SAFETY: `jpeg_create_decompress` set up the memory manager.
    unsafe { (*cinfo.common.mem).max_memory_to_use = c_long::try_from(max_memory).unwrap_or(c_long::MAX) };
    // SAFETY: `input` outlives the decompressor (dropped at the end of this function);
    // every call follows libjpeg's documented order: source, header, parameters,
    // start, scanlines, finish.
    unsafe {
        ffi::jpeg_mem_src(cinfo, input.as_ptr(), input.len() as c_ulong);
        ffi::jpeg_read_header(cinfo, 1);
        cinfo.out_color_space = match cinfo.jpeg_color_space {
            ffi::J_COLOR_SPACE::JCS_YCbCr => ffi::J_COLOR_SPACE::JCS_YCbCr,
            ffi::J_COLOR_SPACE::JCS_GRAYSCALE => ffi::J_COLOR_SPACE::JCS_GRAYSCALE,
            ffi::J_COLOR_SPACE::JCS_CMYK | ffi::J_COLOR_SPACE::JCS_YCCK => {
                return Err(ImageError::Unsupported("CMYK JPEG".to_owned()));
            }
            _ => ffi::J_COLOR_SPACE::JCS_RGB,
        };
        cinfo.scale_num = u32::from(scale.clamp(1, 8));
        cinfo.scale_denom = 8;
        // Without the missing AC scans (see `jpeg::dc_scans_only`), smoothing would
        // guess them from neighbours.
        cinfo.do_block_smoothing = 0;
        ffi::jpeg_start_decompress(cinfo);
        let fast_idct = scale < 8 && replace_idcts(cinfo);
        let (width, height) = (cinfo.output_width, cinfo.output_height);
        let components = cinfo.output_components as usize;
        let stride = width as usize * components;
        // Not zeroed first: libjpeg writes every row before the length is set below.
        let length = stride * height as usize;
        let mut data: Vec<u8> = Vec::with_capacity(length);
        let base = data.as_mut_ptr();
        let mut rows: Vec<*mut u8> = Vec::with_capacity(16);
        while cinfo.output_scanline < height {
            let first = cinfo.output_scanline as usize;
            rows.clear();
            rows.extend((first..(first + 16).min(height as usize)).map(|row| base.add(row * stride)));
            let read = ffi::jpeg_read_scanlines(cinfo, rows.as_mut_ptr(), rows.len() as u32);
            if read == 0 {
                std::panic::resume_unwind(Box::new("libjpeg stopped before the last row".to_owned()));
            }
        }
        data.set_len(length);
        ffi::jpeg_finish_decompress(cinfo);
        #[cfg(not(test))]
        let _ = fast_idct;
        Ok(Output {
            width,
            height,
            components: components as u8,
            color: cinfo.out_color_space,
            data,
            #[cfg(test)]
            fast_idct,
        })
    }
}

/// Points the components' IDCTs at ours; false when libjpeg's table does not hold what
/// we expect (then nothing is changed).
///
/// # Safety
/// `cinfo` must be between `jpeg_start_decompress` and the first scanline read.
unsafe fn replace_idcts(cinfo: &mut ffi::jpeg_decompress_struct) -> bool {
    // With pointers narrower than the struct's alignment (32-bit targets: it holds an
    // f64), padding may follow the last pointer; there we do not guess.
    if std::mem::align_of::<ffi::jpeg_decompress_struct>() != size_of::<*mut c_void>() {
        return false;
    }
    let pointers = size_of::<ffi::jpeg_decompress_struct>() / size_of::<*mut c_void>();
    // SAFETY: the struct ends with four pointer fields (idct, upsample, cconvert,
    // cquantize) and is aligned as a pointer, so no padding follows them and its
    // fourth-from-last word is `idct`.
    let module = unsafe { *(cinfo as *mut ffi::jpeg_decompress_struct as *mut *mut InverseDctModule).add(pointers - 4) };
    if module.is_null() {
        return false;
    }
    let components = usize::try_from(cinfo.num_components).unwrap_or(0).min(10);
    let ours = |method: InverseDct| REPLACEMENTS.iter().find(|(theirs, _)| std::ptr::fn_addr_eq(method, *theirs)).map(|(_, ours)| *ours);
    // SAFETY: `module` is libjpeg's live IDCT object; its table has MAX_COMPONENTS entries.
    let table = unsafe { &mut (*module).inverse_dct };
    // Every entry must be one of libjpeg's IDCTs that we replace (every size a scaled
    // decode can pick is listed); anything else means this is not the table we think:
    // change nothing.
    let replacements: Option<Vec<InverseDct>> = table[..components].iter().map(|entry| entry.and_then(ours)).collect();
    let Some(replacements) = replacements else { return false };
    for (entry, replacement) in table.iter_mut().zip(replacements) {
        *entry = Some(replacement);
    }
    true
}

/// Shared body of the replacements: dequantise with the component's table (natural
/// order, as libjpeg latched it for this component) and write N rows of N pixels.
///
/// # Safety
/// Called by libjpeg with a valid component, a 64-coefficient block and N output rows
/// each with room for N pixels from `output_col`.
unsafe fn scaled_idct<const N: usize>(
    compptr: *mut ffi::jpeg_component_info,
    coefficients: *mut i16,
    output: *mut *mut u8,
    output_col: ffi::JDIMENSION,
    transform: impl Fn(&[i16; 64], &[u16; 64]) -> [[u8; N]; N],
) {
    // SAFETY: per the contract above.
    unsafe {
        let table = (*compptr).quant_table;
        let quant = if table.is_null() { &[0u16; 64] } else { &(*table).quantval };
        let pixels = transform(&*(coefficients as *const [i16; 64]), quant);
        for (y, row) in pixels.iter().enumerate() {
            let out = (*output.add(y)).add(output_col as usize);
            std::ptr::copy_nonoverlapping(row.as_ptr(), out, N);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode;
    use crate::image::{jpeg, Pixels};

    /// A smooth 4:2:0 JPEG: gradients in all three channels.
    fn smooth(width: u32, height: u32) -> Vec<u8> {
        let data = (0..height).flat_map(|y| (0..width).flat_map(move |x| [(x / 2) as u8, (y / 2) as u8, ((x + y) / 4) as u8])).collect();
        jpeg::encode(&Pixels::new(width, height, 3, data), 95).expect("encode")
    }

    #[test]
    fn a_decode_past_its_deadline_stops() {
        let input = smooth(256, 192);
        let past = std::time::Instant::now();
        assert!(std::panic::catch_unwind(|| decode(&input, 4, u64::MAX, Some(past))).is_err_and(|panic| panic.is::<super::PastDeadline>()));
        let later = past + std::time::Duration::from_secs(3600);
        assert!(decode(&input, 4, u64::MAX, Some(later)).is_ok());
    }

    #[test]
    fn scaled_decodes_use_the_replacement_idcts_and_agree_with_a_full_decode() {
        let input = smooth(256, 192);
        let full = decode(&input, 8, u64::MAX, None).expect("full");
        assert!(!full.fast_idct, "full size keeps libjpeg's own IDCT");
        for scale in 1..8 {
            assert!(decode(&input, scale, u64::MAX, None).expect("scaled").fast_idct, "every size libjpeg picks at {scale}/8 is replaced");
        }
        for (scale, factor) in [(4u8, 2usize), (2, 4), (1, 8)] {
            let scaled = decode(&input, scale, u64::MAX, None).expect("scaled");
            assert!(scaled.fast_idct, "the IDCTs were found and replaced at {scale}/8");
            assert_eq!((scaled.width, scaled.height), (256 / factor as u32, 192 / factor as u32));
            // Each scaled pixel is close to the mean of the full-size pixels it covers.
            let (width, channels) = (256usize, 3usize);
            let mut worst = 0.0f64;
            for y in 0..scaled.height as usize {
                for x in 0..scaled.width as usize {
                    for c in 0..channels {
                        let mut sum = 0.0;
                        for dy in 0..factor {
                            for dx in 0..factor {
                                sum += f64::from(full.data[((y * factor + dy) * width + x * factor + dx) * channels + c]);
                            }
                        }
                        let mean = sum / (factor * factor) as f64;
                        let value = f64::from(scaled.data[(y * scaled.width as usize + x) * channels + c]);
                        worst = worst.max((value - mean).abs());
                    }
                }
            }
            assert!(worst <= 3.0, "at {scale}/8 a pixel is {worst} levels from its block's mean");
        }
    }
}
