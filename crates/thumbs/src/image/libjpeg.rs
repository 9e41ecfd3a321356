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
//! A YCbCr file is read as raw data (`jpeg_read_raw_data`): one plane per component,
//! with no colour conversion, upsampling or interleaving. libjpeg decodes subsampled
//! chroma with a larger IDCT (8x8 where the luma's is 4x4) so that its upsampler has
//! less to do; without an upsampler that only doubles the chroma's cost, so each
//! component's IDCT size is set back to the scale's own (two private fields of
//! `jpeg_component_info`, read through [`ComponentInfo`]) together with our IDCT of
//! that size. If either cannot be done, the planes come at libjpeg's sizes.
//!
//! Errors: libjpeg's `error_exit` here unwinds with the library's message; the caller
//! runs [`decode`] inside `catch_unwind`, and `Drop` releases libjpeg's memory.

#![allow(unsafe_code, reason = "FFI to libjpeg; with idct::sse2 and a mallopt call in main.rs, the only unsafe code in the workspace")]

use std::ffi::c_void;
use std::mem::size_of;
use std::os::raw::{c_int, c_long, c_ulong};
use std::time::Instant;

use mozjpeg_sys as ffi;

use super::{idct, ImageError, Plane, Planes};

/// What libjpeg produced, `width`x`height` at the decoded scale.
pub struct Output {
    pub width: u32,
    pub height: u32,
    pub samples: Samples,
    /// Whether every component was decoded at `scale`/8 of its own resolution (libjpeg
    /// decodes subsampled ones larger when it upsamples them; raw planes are not).
    pub native: bool,
    /// Whether the scaled IDCTs were replaced (false at full size or if not found).
    #[cfg(test)]
    pub fast_idct: bool,
}

pub enum Samples {
    /// `components` bytes per pixel in the colour space `color`.
    Interleaved { components: u8, color: ffi::J_COLOR_SPACE, data: Vec<u8> },
    /// A YCbCr file's components, each at its own resolution.
    Planar(Planes),
}

/// `jpeg_component_info` as jpeglib.h declares it for the v6.2 ABI that `mozjpeg-sys`
/// builds, to reach the fields it keeps private (the asserts below and the checks in
/// [`use_our_idcts`] hold it to the real layout).
#[repr(C)]
struct ComponentInfo {
    component_id: c_int,
    component_index: c_int,
    h_samp_factor: c_int,
    v_samp_factor: c_int,
    quant_tbl_no: c_int,
    dc_tbl_no: c_int,
    ac_tbl_no: c_int,
    width_in_blocks: ffi::JDIMENSION,
    height_in_blocks: ffi::JDIMENSION,
    /// The size of the blocks its IDCT writes (1 to 16).
    dct_scaled_size: c_int,
    downsampled_width: ffi::JDIMENSION,
    downsampled_height: ffi::JDIMENSION,
    component_needed: ffi::boolean,
    mcu_width: c_int,
    mcu_height: c_int,
    mcu_blocks: c_int,
    /// `mcu_width * dct_scaled_size`, latched when a scan starts.
    mcu_sample_width: c_int,
    last_col_width: c_int,
    last_row_height: c_int,
    quant_table: *mut ffi::JQUANT_TBL,
    dct_table: *mut c_void,
}

const _: () = assert!(size_of::<ComponentInfo>() == size_of::<ffi::jpeg_component_info>());
const _: () = assert!(std::mem::align_of::<ComponentInfo>() == std::mem::align_of::<ffi::jpeg_component_info>());

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

        /// (block size, libjpeg's, ours) for every replaced IDCT.
        const REPLACEMENTS: &[(c_int, InverseDct, InverseDct)] = &[$(($size, $theirs, $ours)),*];
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

/// Decodes `input` scaled by `scale`/8: a three-component YCbCr file to planes, grey
/// to grey, anything else to RGB; CMYK is refused. libjpeg may hold at most `max_memory`
/// bytes for its whole-image buffers (a progressive file's coefficients: 2 bytes a
/// sample).
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
    let scale = scale.clamp(1, 8);
    // SAFETY: `jpeg_create_decompress` set up the memory manager.
    unsafe { (*cinfo.common.mem).max_memory_to_use = c_long::try_from(max_memory).unwrap_or(c_long::MAX) };
    // SAFETY: `input` outlives the decompressor (dropped at the end of this function);
    // every call follows libjpeg's documented order: source, header, parameters,
    // start, scanlines (or raw data), finish.
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
        let planar = cinfo.jpeg_color_space == ffi::J_COLOR_SPACE::JCS_YCbCr && cinfo.num_components == 3;
        cinfo.raw_data_out = ffi::boolean::from(planar);
        cinfo.scale_num = u32::from(scale);
        cinfo.scale_denom = 8;
        // Without the missing AC scans (see `jpeg::dc_scans_only`), smoothing would
        // guess them from neighbours.
        cinfo.do_block_smoothing = 0;
        ffi::jpeg_start_decompress(cinfo);
        let (width, height) = (cinfo.output_width, cinfo.output_height);
        // At full size libjpeg's own IDCT stays, and every component is at its own
        // resolution already.
        let fast_idct = scale < 8 && use_our_idcts(cinfo, c_int::from(scale), planar);
        let native = components(cinfo).iter().all(|component| component.dct_scaled_size == c_int::from(scale));
        let samples = if planar { Samples::Planar(read_planes(cinfo, c_int::from(scale))) } else { read_interleaved(cinfo) };
        ffi::jpeg_finish_decompress(cinfo);
        #[cfg(not(test))]
        let _ = fast_idct;
        Ok(Output {
            width,
            height,
            samples,
            native,
            #[cfg(test)]
            fast_idct,
        })
    }
}

/// Reads every row as pixels of `output_components` bytes.
///
/// # Safety
/// `cinfo` must be started (not raw) and not yet read from.
unsafe fn read_interleaved(cinfo: &mut ffi::jpeg_decompress_struct) -> Samples {
    let (width, height) = (cinfo.output_width, cinfo.output_height);
    let components = cinfo.output_components as usize;
    let stride = width as usize * components;
    // Not zeroed first: libjpeg writes every row before the length is set below.
    let length = stride * height as usize;
    let mut data: Vec<u8> = Vec::with_capacity(length);
    let base = data.as_mut_ptr();
    let mut rows: Vec<*mut u8> = Vec::with_capacity(16);
    // SAFETY: each row pointer has `stride` bytes of `data` behind it.
    unsafe {
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
    }
    Samples::Interleaved { components: components as u8, color: cinfo.out_color_space, data }
}

/// The components' descriptions as [`ComponentInfo`].
///
/// # Safety
/// `cinfo` must have read its header; the slice must not outlive it.
unsafe fn components(cinfo: &mut ffi::jpeg_decompress_struct) -> &mut [ComponentInfo] {
    let count = usize::try_from(cinfo.num_components).unwrap_or(0);
    // SAFETY: `comp_info` holds `num_components` entries, laid out as `ComponentInfo`
    // (same size and alignment, asserted above).
    unsafe { std::slice::from_raw_parts_mut(cinfo.comp_info as *mut ComponentInfo, count) }
}

/// Puts our IDCTs in libjpeg's table: with `native` (raw output), each component's at
/// `scale`/8 of its own resolution, its IDCT size set to match; otherwise at the sizes
/// libjpeg chose. False when the table or the components do not hold what we expect:
/// then nothing is changed.
///
/// # Safety
/// `cinfo` must be started and not yet read from.
unsafe fn use_our_idcts(cinfo: &mut ffi::jpeg_decompress_struct, scale: c_int, native: bool) -> bool {
    // SAFETY: per the contract above.
    let Some(module) = (unsafe { idct_module(cinfo) }) else { return false };
    // SAFETY: `module` is libjpeg's live IDCT object; its table has MAX_COMPONENTS entries.
    let table = unsafe { &mut (*module).inverse_dct };
    let count = usize::try_from(cinfo.num_components).unwrap_or(0).min(table.len());
    // Which of libjpeg's IDCTs each entry is tells its block size; an entry that is
    // none of them means this is not the table we think.
    let size_of_theirs = |entry: &Option<InverseDct>| {
        REPLACEMENTS.iter().find(|(_, theirs, _)| entry.is_some_and(|entry| std::ptr::fn_addr_eq(entry, *theirs)))
    };
    let Some(theirs) = table[..count].iter().map(|entry| size_of_theirs(entry).map(|(size, _, _)| *size)).collect::<Option<Vec<c_int>>>()
    else {
        return false;
    };
    let (max_h, max_v) = (cinfo.max_h_samp_factor, cinfo.max_v_samp_factor);
    // SAFETY: per the contract above.
    let components = unsafe { self::components(cinfo) };
    // The components must agree with the table (which holds `ComponentInfo` to the real
    // layout) and look as libjpeg sets them up: the full-resolution ones at `scale`,
    // the others at a multiple of it.
    let native = native
        && components.len() == count
        && components.iter().zip(&theirs).all(|(component, &size)| {
            let full = component.h_samp_factor == max_h && component.v_samp_factor == max_v;
            component.dct_scaled_size == size
                && size % scale == 0
                && (!full || size == scale)
                && component.mcu_sample_width == component.mcu_width * size
        });
    let sizes = if native { vec![scale; count] } else { theirs };
    let ours = |size: c_int| REPLACEMENTS.iter().find(|(block, _, _)| *block == size).map(|(_, _, ours)| *ours);
    let Some(replacements) = sizes.iter().map(|&size| ours(size)).collect::<Option<Vec<InverseDct>>>() else { return false };
    for (entry, replacement) in table.iter_mut().zip(replacements) {
        *entry = Some(replacement);
    }
    if native {
        for (component, &size) in components.iter_mut().zip(&sizes) {
            component.dct_scaled_size = size;
            component.mcu_sample_width = component.mcu_width * size;
        }
    }
    true
}

/// Reads the three components as planes, one iMCU row (`max_v_samp_factor * scale`
/// luma rows) at a time. libjpeg writes whole blocks: where a component's rows are as
/// wide as its blocks (most photos), they go straight into its plane, and only rows
/// past its last go to a scratch strip; otherwise each row goes through the strip and is
/// copied in at the component's width.
///
/// # Safety
/// `cinfo` must be started in raw mode and not yet read from.
unsafe fn read_planes(cinfo: &mut ffi::jpeg_decompress_struct, scale: c_int) -> Planes {
    let (image_width, image_height) = (u64::from(cinfo.image_width), u64::from(cinfo.image_height));
    let (max_h, max_v) = (cinfo.max_h_samp_factor, cinfo.max_v_samp_factor);
    struct Component {
        /// Rows and row length of one call's output.
        rows: usize,
        stride: usize,
        scratch: Vec<u8>,
        pointers: Vec<*mut u8>,
        plane: Plane,
        /// Rows as wide as the plane: written in place.
        direct: bool,
    }
    // SAFETY: per the contract above.
    let mut components: Vec<Component> = unsafe { components(cinfo) }
        .iter()
        .map(|component| {
            let (h, v, size) = (component.h_samp_factor, component.v_samp_factor, component.dct_scaled_size);
            let samples = |image: u64, factor: c_int, max: c_int| (image * factor as u64 * size as u64).div_ceil(max as u64 * 8) as u32;
            let rows = (v * size) as usize;
            let stride = component.width_in_blocks as usize * size as usize;
            let (width, height) = (samples(image_width, h, max_h), samples(image_height, v, max_v));
            let density = (f64::from(h * size) / f64::from(max_h * scale), f64::from(v * size) / f64::from(max_v * scale));
            let data = vec![0u8; width as usize * height as usize];
            Component {
                rows,
                stride,
                scratch: vec![0u8; rows * stride],
                pointers: vec![std::ptr::null_mut(); rows],
                plane: Plane { width, height, data, density },
                direct: stride == width as usize,
            }
        })
        .collect();
    let lines = (max_v * scale) as ffi::JDIMENSION;
    let mut image: Vec<ffi::JSAMPARRAY_MUT> = components.iter_mut().map(|component| component.pointers.as_mut_ptr()).collect();
    let mut call = 0;
    while cinfo.output_scanline < cinfo.output_height {
        for component in &mut components {
            let (width, height) = (component.plane.width as usize, component.plane.height as usize);
            let (plane, scratch) = (component.plane.data.as_mut_ptr(), component.scratch.as_mut_ptr());
            for (index, pointer) in component.pointers.iter_mut().enumerate() {
                let row = call * component.rows + index;
                // SAFETY: in the plane, row `row` (< height) of `width` (= stride)
                // samples; else row `index` of the scratch strip's `rows`.
                *pointer = unsafe {
                    if component.direct && row < height {
                        plane.add(row * width)
                    } else {
                        scratch.add(index * component.stride)
                    }
                };
            }
        }
        // SAFETY: each component's pointers give the `v_samp_factor * dct_scaled_size`
        // rows of `width_in_blocks * dct_scaled_size` samples that one call writes.
        let read = unsafe { ffi::jpeg_read_raw_data(cinfo, image.as_mut_ptr(), lines) };
        if read == 0 {
            std::panic::resume_unwind(Box::new("libjpeg stopped before the last row".to_owned()));
        }
        for component in components.iter_mut().filter(|component| !component.direct) {
            let width = component.plane.width as usize;
            let first = call * component.rows;
            let strip = component.scratch.chunks_exact(component.stride);
            for (row, out) in strip.zip(component.plane.data.chunks_exact_mut(width.max(1)).skip(first)) {
                out.copy_from_slice(&row[..width]);
            }
        }
        call += 1;
    }
    let mut planes = components.into_iter().map(|component| component.plane);
    let mut next = || planes.next().unwrap_or(Plane { width: 0, height: 0, data: Vec::new(), density: (1.0, 1.0) });
    Planes { width: cinfo.output_width, height: cinfo.output_height, planes: [next(), next(), next()] }
}

/// libjpeg's IDCT object, found as the fourth-from-last word of the struct.
///
/// # Safety
/// `cinfo` must be started.
unsafe fn idct_module(cinfo: &mut ffi::jpeg_decompress_struct) -> Option<*mut InverseDctModule> {
    // With pointers narrower than the struct's alignment (32-bit targets: it holds an
    // f64), padding may follow the last pointer; there we do not guess.
    if std::mem::align_of::<ffi::jpeg_decompress_struct>() != size_of::<*mut c_void>() {
        return None;
    }
    let pointers = size_of::<ffi::jpeg_decompress_struct>() / size_of::<*mut c_void>();
    // SAFETY: the struct ends with four pointer fields (idct, upsample, cconvert,
    // cquantize) and is aligned as a pointer, so no padding follows them and its
    // fourth-from-last word is `idct`.
    let module = unsafe { *(cinfo as *mut ffi::jpeg_decompress_struct as *mut *mut InverseDctModule).add(pointers - 4) };
    (!module.is_null()).then_some(module)
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

    fn planes(output: &super::Output) -> &crate::image::Planes {
        match &output.samples {
            super::Samples::Planar(planes) => planes,
            super::Samples::Interleaved { .. } => panic!("a YCbCr file decodes to planes"),
        }
    }

    /// The same gradients with chroma subsampled 2x2 (4:2:0), 2x1 (4:2:2) or not at all,
    /// baseline or progressive.
    fn smooth_sampled(width: usize, height: usize, chroma_pixels: (u8, u8), progressive: bool) -> Vec<u8> {
        let data: Vec<u8> =
            (0..height).flat_map(|y| (0..width).flat_map(move |x| [(x / 2) as u8, (y / 2) as u8, ((x + y) / 4) as u8])).collect();
        let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_RGB);
        compress.set_size(width, height);
        compress.set_quality(95.0);
        compress.set_chroma_sampling_pixel_sizes(chroma_pixels, chroma_pixels);
        if progressive {
            compress.set_progressive_mode();
        }
        let mut started = compress.start_compress(Vec::new()).expect("start");
        started.write_scanlines(&data).expect("rows");
        started.finish().expect("finish")
    }

    #[test]
    fn scaled_decodes_use_the_replacement_idcts_and_agree_with_a_full_decode() {
        // (file, full-size luma and chroma planes, chroma density)
        type Case = (Vec<u8>, (u32, u32), (u32, u32), (f64, f64));
        let samplings = [((2, 2), (128, 96), (0.5, 0.5)), ((2, 1), (128, 192), (0.5, 1.0)), ((1, 1), (256, 192), (1.0, 1.0))];
        let mut inputs: Vec<Case> = samplings
            .into_iter()
            .flat_map(|(sampling, chroma, density)| {
                [false, true].map(|progressive| (smooth_sampled(256, 192, sampling, progressive), (256, 192), chroma, density))
            })
            .collect();
        inputs.push((smooth(256, 192), (256, 192), (128, 96), (0.5, 0.5)));
        // Rows narrower than whole blocks: copied in from libjpeg's strip.
        for progressive in [false, true] {
            inputs.push((smooth_sampled(250, 190, (2, 2), progressive), (250, 190), (125, 95), (0.5, 0.5)));
        }
        for (input, luma_size, chroma_size, density) in &inputs {
            let full = decode(input, 8, u64::MAX, None).expect("full");
            assert!(!full.fast_idct, "full size keeps libjpeg's own IDCT");
            let full = planes(&full);
            let sizes: Vec<(u32, u32)> = full.planes.iter().map(|plane| (plane.width, plane.height)).collect();
            assert_eq!(sizes, [*luma_size, *chroma_size, *chroma_size], "chroma at its own resolution");
            for scale in 1..8u8 {
                let scaled = decode(input, scale, u64::MAX, None).expect("scaled");
                assert!(scaled.fast_idct, "every size libjpeg picks at {scale}/8 is replaced");
                let chroma = &planes(&scaled).planes[1];
                assert_eq!(chroma.density, *density, "at {scale}/8 the chroma is decoded at its own resolution, not upsampled");
                let scaled_size = |size: u32| (size * u32::from(scale)).div_ceil(8);
                assert_eq!((chroma.width, chroma.height), (scaled_size(chroma_size.0), scaled_size(chroma_size.1)));
            }
            for (scale, factor) in [(4u8, 2usize), (2, 4), (1, 8)] {
                let scaled = decode(input, scale, u64::MAX, None).expect("scaled");
                assert_eq!((scaled.width, scaled.height), (luma_size.0.div_ceil(factor as u32), luma_size.1.div_ceil(factor as u32)));
                // Each scaled sample is close to the mean of the full-size samples it covers.
                for (plane, whole) in planes(&scaled).planes.iter().zip(&full.planes) {
                    let (width, height) = (whole.width as usize, whole.height as usize);
                    assert_eq!((plane.width as usize, plane.height as usize), (width.div_ceil(factor), height.div_ceil(factor)));
                    let mut worst = 0.0f64;
                    for y in 0..height / factor {
                        for x in 0..width / factor {
                            let mut sum = 0.0;
                            for dy in 0..factor {
                                for dx in 0..factor {
                                    sum += f64::from(whole.data[(y * factor + dy) * width + x * factor + dx]);
                                }
                            }
                            let mean = sum / (factor * factor) as f64;
                            worst = worst.max((f64::from(plane.data[y * plane.width as usize + x]) - mean).abs());
                        }
                    }
                    assert!(worst <= 3.0, "at {scale}/8 a sample is {worst} levels from its block's mean");
                }
            }
        }
    }

    #[test]
    fn grey_files_decode_interleaved_with_the_replacement_idcts() {
        let data = (0..96u32 * 64).map(|i| (i % 96 * 2) as u8).collect::<Vec<u8>>();
        let mut compress = mozjpeg::Compress::new(mozjpeg::ColorSpace::JCS_GRAYSCALE);
        compress.set_size(96, 64);
        let mut started = compress.start_compress(Vec::new()).expect("start");
        started.write_scanlines(&data).expect("rows");
        let input = started.finish().expect("finish");
        let full = decode(&input, 8, u64::MAX, None).expect("full");
        let half = decode(&input, 4, u64::MAX, None).expect("half");
        assert!(half.fast_idct);
        let (super::Samples::Interleaved { components: 1, data: full, .. }, super::Samples::Interleaved { components: 1, data: half, .. }) =
            (full.samples, half.samples)
        else {
            panic!("grey stays grey, one byte a pixel")
        };
        assert_eq!(half.len(), 48 * 32);
        let worst = (0..32).flat_map(|y| (0..48).map(move |x| (y, x))).fold(0i32, |worst, (y, x)| {
            let mean = (0..4).map(|i| i32::from(full[(2 * y + i / 2) * 96 + 2 * x + i % 2])).sum::<i32>() / 4;
            worst.max((i32::from(half[y * 48 + x]) - mean).abs())
        });
        assert!(worst <= 3, "a pixel is {worst} levels from its block's mean");
    }
}
