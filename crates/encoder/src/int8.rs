//! Linear maps with 8-bit weights: each output's weights scaled to -127..=127, each input row
//! scaled to 8 bits when it arrives, products summed in 32-bit integers and scaled back.
//!
//! The weights are packed for AVX-512 VNNI's `vpdpbusd` (unsigned bytes times signed bytes,
//! four at a time into each 32-bit lane): panels of 16 outputs, and within a panel, for every
//! four inputs, the 16 outputs' four weights side by side (64 bytes). An input row is stored
//! mapped from its own range onto 0..=255; the offset is taken back with each output's weight sum.
//! Machines with AVX2 but not VNNI run the same layout with `vpmaddubsw`; others run a portable
//! loop over the weights one output after another.

use crate::kernels::Kernels;

/// Outputs per panel: one 512-bit register of 32-bit sums.
const PANEL: usize = 16;
/// Panels the VNNI kernel works on at once.
const PANELS_AT_ONCE: usize = 4;
/// Rows the VNNI kernel works on at once.
const ROWS_AT_ONCE: usize = 4;

/// `y = x · Wᵀ + b` with `W` held in 8 bits.
pub struct QuantisedLinear {
    inputs: usize,
    outputs: usize,
    /// `outputs / 16` panels of `inputs / 4` groups of 64 bytes.
    packed: Vec<i8>,
    /// Per output: the factor that turns its 8-bit weights back into the model's.
    scales: Vec<f32>,
    /// Per output: the sum of its 8-bit weights (what an input row's offset adds).
    weight_sums: Vec<f32>,
    bias: Vec<f32>,
    /// The same 8-bit weights one output after another (`outputs × inputs`), made from
    /// `packed` the first time the portable loop runs: plain dot products that compilers
    /// vectorise for any CPU (SSE2, NEON), where the packed layout's four-byte groups do not.
    row_major: std::sync::OnceLock<Vec<i8>>,
}

/// Why a weight matrix cannot be used.
#[derive(Debug)]
pub struct ShapeError(pub String);

impl QuantisedLinear {
    /// From the model's `outputs × inputs` weights (row-major, as stored) and its bias.
    pub fn new(
        weights: &[f32],
        bias: &[f32],
        outputs: usize,
        inputs: usize,
    ) -> Result<Self, ShapeError> {
        if !outputs.is_multiple_of(PANEL * PANELS_AT_ONCE)
            || !inputs.is_multiple_of(4)
            || inputs == 0
        {
            return Err(ShapeError(format!(
                "a {outputs}x{inputs} map: outputs must be a multiple of 64, inputs of 4"
            )));
        }
        if weights.len() != outputs * inputs || bias.len() != outputs {
            return Err(ShapeError(format!(
                "a {outputs}x{inputs} map given {} weights and {} biases",
                weights.len(),
                bias.len()
            )));
        }
        let mut scales = Vec::with_capacity(outputs);
        let mut weight_sums = Vec::with_capacity(outputs);
        let mut quantised = vec![0i8; outputs * inputs];
        for (o, row) in weights.chunks_exact(inputs).enumerate() {
            let largest = row.iter().fold(0f32, |m, w| m.max(w.abs()));
            let scale = if largest > 0.0 { largest / 127.0 } else { 1.0 };
            let mut sum = 0i32;
            for (i, w) in row.iter().enumerate() {
                let q = (w / scale).round_ties_even().clamp(-127.0, 127.0) as i8;
                quantised[o * inputs + i] = q;
                sum += i32::from(q);
            }
            scales.push(scale);
            weight_sums.push(sum as f32);
        }
        let groups = inputs / 4;
        let mut packed = vec![0i8; outputs * inputs];
        for panel in 0..outputs / PANEL {
            for g in 0..groups {
                for c in 0..PANEL {
                    let o = panel * PANEL + c;
                    let at = (panel * groups + g) * 64 + c * 4;
                    packed[at..at + 4]
                        .copy_from_slice(&quantised[o * inputs + g * 4..o * inputs + g * 4 + 4]);
                }
            }
        }
        Ok(QuantisedLinear {
            inputs,
            outputs,
            packed,
            scales,
            weight_sums,
            bias: bias.to_vec(),
            row_major: std::sync::OnceLock::new(),
        })
    }

    /// The weights one output after another, unpacked from the panels once.
    fn row_major(&self) -> &[i8] {
        self.row_major.get_or_init(|| {
            let groups = self.inputs / 4;
            let mut rows = vec![0i8; self.outputs * self.inputs];
            for (o, row) in rows.chunks_exact_mut(self.inputs).enumerate() {
                let (panel, c) = (o / PANEL, o % PANEL);
                for (g, quad) in row.chunks_exact_mut(4).enumerate() {
                    let at = (panel * groups + g) * 64 + c * 4;
                    quad.copy_from_slice(&self.packed[at..at + 4]);
                }
            }
            rows
        })
    }

    pub fn inputs(&self) -> usize {
        self.inputs
    }

    pub fn outputs(&self) -> usize {
        self.outputs
    }

    /// `out[r] = x[r] · Wᵀ + b` for every row of `x` (`rows × inputs`, row-major); `out` is
    /// `rows × outputs`.
    #[inline(always)]
    pub fn forward(&self, x: &[f32], out: &mut [f32], kernels: Kernels) {
        let rows = x.len() / self.inputs;
        debug_assert_eq!(x.len(), rows * self.inputs);
        debug_assert_eq!(out.len(), rows * self.outputs);
        let mut bytes = vec![0u8; rows * self.inputs];
        let mut row_steps = vec![(0f32, 0f32); rows];
        for ((row, q), s) in x
            .chunks_exact(self.inputs)
            .zip(bytes.chunks_exact_mut(self.inputs))
            .zip(row_steps.iter_mut())
        {
            *s = quantise_row(row, q);
        }
        let mut sums = vec![0i32; rows * self.outputs];
        products(&bytes, rows, self, &mut sums, kernels);
        for ((sum_row, out_row), &(low, step)) in sums
            .chunks_exact(self.outputs)
            .zip(out.chunks_exact_mut(self.outputs))
            .zip(&row_steps)
        {
            for ((((y, sum), weight_sum), scale), bias) in out_row
                .iter_mut()
                .zip(sum_row)
                .zip(&self.weight_sums)
                .zip(&self.scales)
                .zip(&self.bias)
            {
                *y = (*sum as f32 * step + low * weight_sum) * scale + bias;
            }
        }
    }
}

/// Maps one row's range onto 0..=255: stores `round((v - low) / step)` and returns
/// `(low, step)`, so that `v ≈ low + step × byte`.
#[inline(always)]
fn quantise_row(row: &[f32], out: &mut [u8]) -> (f32, f32) {
    let mut lows = [f32::MAX; 16];
    let mut highs = [f32::MIN; 16];
    let chunks = row.chunks_exact(16);
    let (mut low, mut high) = chunks
        .remainder()
        .iter()
        .fold((f32::MAX, f32::MIN), |(l, h), v| (l.min(*v), h.max(*v)));
    for chunk in chunks {
        for ((l, h), v) in lows.iter_mut().zip(highs.iter_mut()).zip(chunk) {
            *l = if *v < *l { *v } else { *l };
            *h = if *v > *h { *v } else { *h };
        }
    }
    low = lows.iter().fold(low, |m, v| m.min(*v));
    high = highs.iter().fold(high, |m, v| m.max(*v));
    let step = if high > low {
        (high - low) / 255.0
    } else {
        1.0
    };
    let inverse = 1.0 / step;
    for (v, q) in row.iter().zip(out.iter_mut()) {
        let rounded = ((v - low) * inverse).clamp(0.0, 255.0) + crate::maths::ROUNDER;
        *q = (rounded.to_bits() - crate::maths::ROUNDER.to_bits()) as u8;
    }
    (low, step)
}

/// 32-bit sums of input bytes times weights, `rows × outputs`.
#[inline(always)]
fn products(bytes: &[u8], rows: usize, map: &QuantisedLinear, sums: &mut [i32], kernels: Kernels) {
    #[cfg(target_arch = "x86_64")]
    if kernels == Kernels::Avx512Vnni {
        // SAFETY: `Kernels::Avx512Vnni` is only used where `Kernels::detect` found AVX-512 F,
        // BW and VNNI; the shapes were checked when the map was built.
        unsafe { vnni::products(bytes, rows, map, sums) };
        return;
    }
    #[cfg(target_arch = "x86_64")]
    if kernels == Kernels::Avx2 {
        // SAFETY: `Kernels::Avx2` is only used where `Kernels::detect` found AVX2.
        unsafe { avx2::products(bytes, rows, map, sums) };
        return;
    }
    let _ = kernels;
    portable_products(bytes, rows, map, sums);
}

/// The same sums in plain Rust, for CPUs without AVX2 (and as the tests' reference): one dot
/// product of a row's bytes and an output's weights for each sum, four outputs at a time (each
/// row's bytes loaded once for four) against every row in turn (the four outputs' weights
/// stay in the nearest cache while the rows go by).
#[inline(always)]
pub(crate) fn portable_products(
    bytes: &[u8],
    rows: usize,
    map: &QuantisedLinear,
    sums: &mut [i32],
) {
    let (inputs, outputs) = (map.inputs, map.outputs);
    debug_assert!(bytes.len() >= rows * inputs && sums.len() >= rows * outputs);
    for (quad, four) in map.row_major().chunks_exact(4 * inputs).enumerate() {
        let (w0, rest) = four.split_at(inputs);
        let (w1, rest) = rest.split_at(inputs);
        let (w2, w3) = rest.split_at(inputs);
        for (row, row_sums) in bytes
            .chunks_exact(inputs)
            .zip(sums.chunks_exact_mut(outputs))
            .take(rows)
        {
            let mut acc = [0i32; 4];
            for i in 0..inputs {
                let x = i32::from(row[i]);
                acc[0] += x * i32::from(w0[i]);
                acc[1] += x * i32::from(w1[i]);
                acc[2] += x * i32::from(w2[i]);
                acc[3] += x * i32::from(w3[i]);
            }
            row_sums[quad * 4..quad * 4 + 4].copy_from_slice(&acc);
        }
    }
}

/// Walks `sums` in tiles of up to `rows_at_once` rows by `panels × 16` outputs and has `tile`
/// fill each: `tile(its first row of bytes, its block of packed weights, its first sum, rows)`.
/// Every pointer handed out is within the slices, whose sizes are asserted here.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn by_tiles(
    bytes: &[u8],
    rows: usize,
    map: &QuantisedLinear,
    sums: &mut [i32],
    rows_at_once: usize,
    panels: usize,
    mut tile: impl FnMut(*const u8, *const i8, *mut i32, usize),
) {
    assert!(bytes.len() >= rows * map.inputs && sums.len() >= rows * map.outputs);
    assert!(map.packed.len() == map.outputs * map.inputs);
    assert!(map.outputs.is_multiple_of(PANEL * panels) && map.inputs.is_multiple_of(4));
    let groups = map.inputs / 4;
    for block in 0..map.outputs / (PANEL * panels) {
        let weights = map.packed[block * panels * groups * 64..].as_ptr();
        let mut r = 0;
        while r < rows {
            let n = rows_at_once.min(rows - r);
            let first_sum = r * map.outputs + block * PANEL * panels;
            tile(
                bytes[r * map.inputs..].as_ptr(),
                weights,
                sums[first_sum..].as_mut_ptr(),
                n,
            );
            r += n;
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod vnni {
    use super::{by_tiles, QuantisedLinear, PANEL, PANELS_AT_ONCE, ROWS_AT_ONCE};
    use std::arch::x86_64::*;

    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI; `bytes` holds `rows × map.inputs` bytes and
    /// `sums` `rows × map.outputs` slots.
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
    pub unsafe fn products(bytes: &[u8], rows: usize, map: &QuantisedLinear, sums: &mut [i32]) {
        let groups = map.inputs / 4;
        let (inputs, outputs) = (map.inputs, map.outputs);
        by_tiles(
            bytes,
            rows,
            map,
            sums,
            ROWS_AT_ONCE,
            PANELS_AT_ONCE,
            |a, w, c, n| {
                // SAFETY: `by_tiles` hands each tile `n` rows of bytes, the block's four panels
                // and `n` rows of 64 sums; the CPU has the features (this function's contract).
                unsafe {
                    match n {
                        1 => tile::<1>(a, inputs, w, groups, c, outputs),
                        2 => tile::<2>(a, inputs, w, groups, c, outputs),
                        3 => tile::<3>(a, inputs, w, groups, c, outputs),
                        _ => tile::<ROWS_AT_ONCE>(a, inputs, w, groups, c, outputs),
                    }
                }
            },
        );
    }

    /// `ROWS` rows times four panels (64 outputs), all of the inputs.
    ///
    /// # Safety
    /// AVX-512 F, BW and VNNI; `a` points at `ROWS` rows of `row_stride` bytes (each holding
    /// `4 × groups`), `weights` at four panels of `groups × 64` bytes, `c` at `ROWS` rows of
    /// `sum_stride` sums with 64 writable from it.
    #[inline(always)]
    unsafe fn tile<const ROWS: usize>(
        a: *const u8,
        row_stride: usize,
        weights: *const i8,
        groups: usize,
        c: *mut i32,
        sum_stride: usize,
    ) {
        // SAFETY: the caller holds the contract above.
        unsafe {
            let mut acc = [[_mm512_setzero_si512(); PANELS_AT_ONCE]; ROWS];
            let panel_stride = groups * 64;
            for g in 0..groups {
                let w = weights.add(g * 64);
                let w0 = _mm512_loadu_si512(w as *const _);
                let w1 = _mm512_loadu_si512(w.add(panel_stride) as *const _);
                let w2 = _mm512_loadu_si512(w.add(2 * panel_stride) as *const _);
                let w3 = _mm512_loadu_si512(w.add(3 * panel_stride) as *const _);
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let quad = (a.add(r * row_stride + g * 4) as *const i32).read_unaligned();
                    let x = _mm512_set1_epi32(quad);
                    lanes[0] = _mm512_dpbusd_epi32(lanes[0], x, w0);
                    lanes[1] = _mm512_dpbusd_epi32(lanes[1], x, w1);
                    lanes[2] = _mm512_dpbusd_epi32(lanes[2], x, w2);
                    lanes[3] = _mm512_dpbusd_epi32(lanes[3], x, w3);
                }
            }
            for (r, lanes) in acc.iter().enumerate() {
                for (p, lane) in lanes.iter().enumerate() {
                    _mm512_storeu_si512(c.add(r * sum_stride + p * PANEL) as *mut _, *lane);
                }
            }
        }
    }
}

/// The same sums with AVX2, two rows by two panels at a time: `vpmaddubsw` adds two byte
/// products in 16 bits with saturation, which 255 × 127 × 2 would reach, so each input byte
/// goes in as its top seven bits and its lowest bit (`2h + l`), each product summed into 32
/// bits by `vpmaddwd` (times 2 and times 1). The sums are exact, as with VNNI.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use super::{by_tiles, QuantisedLinear};
    use std::arch::x86_64::*;

    const ROWS: usize = 2;
    const PANELS: usize = 2;

    /// # Safety
    /// The CPU must have AVX2; `bytes` holds `rows × map.inputs` bytes and `sums`
    /// `rows × map.outputs` slots (asserted).
    #[target_feature(enable = "avx2")]
    pub unsafe fn products(bytes: &[u8], rows: usize, map: &QuantisedLinear, sums: &mut [i32]) {
        let groups = map.inputs / 4;
        let (inputs, outputs) = (map.inputs, map.outputs);
        by_tiles(bytes, rows, map, sums, ROWS, PANELS, |a, w, c, n| {
            // SAFETY: `by_tiles` hands each tile `n` rows of bytes, the block's two panels and
            // `n` rows of 32 sums; the CPU has AVX2 (this function's contract).
            unsafe {
                if n == 1 {
                    tile::<1>(a, inputs, w, groups, c, outputs);
                } else {
                    tile::<ROWS>(a, inputs, w, groups, c, outputs);
                }
            }
        });
    }

    /// `R` rows times two panels (32 outputs), all of the inputs.
    ///
    /// # Safety
    /// AVX2; the pointers as in `vnni::tile`, for two panels.
    #[inline(always)]
    unsafe fn tile<const R: usize>(
        a: *const u8,
        row_stride: usize,
        weights: *const i8,
        groups: usize,
        c: *mut i32,
        sum_stride: usize,
    ) {
        // SAFETY: the caller holds the contract above.
        unsafe {
            let ones = _mm256_set1_epi16(1);
            let twos = _mm256_set1_epi16(2);
            let low_bits = _mm256_set1_epi8(1);
            let top_bits = _mm256_set1_epi8(0x7f);
            let mut acc = [[_mm256_setzero_si256(); 2 * PANELS]; R];
            let panel_stride = groups * 64;
            for g in 0..groups {
                let w = weights.add(g * 64);
                let w = [
                    _mm256_loadu_si256(w as *const _),
                    _mm256_loadu_si256(w.add(32) as *const _),
                    _mm256_loadu_si256(w.add(panel_stride) as *const _),
                    _mm256_loadu_si256(w.add(panel_stride + 32) as *const _),
                ];
                for (r, lanes) in acc.iter_mut().enumerate() {
                    let quad = (a.add(r * row_stride + g * 4) as *const i32).read_unaligned();
                    let x = _mm256_set1_epi32(quad);
                    let top = _mm256_and_si256(_mm256_srli_epi16(x, 1), top_bits);
                    let bottom = _mm256_and_si256(x, low_bits);
                    for (lane, w) in lanes.iter_mut().zip(&w) {
                        let high = _mm256_madd_epi16(_mm256_maddubs_epi16(top, *w), twos);
                        let low = _mm256_madd_epi16(_mm256_maddubs_epi16(bottom, *w), ones);
                        *lane = _mm256_add_epi32(*lane, _mm256_add_epi32(high, low));
                    }
                }
            }
            for (r, lanes) in acc.iter().enumerate() {
                for (i, lane) in lanes.iter().enumerate() {
                    _mm256_storeu_si256(c.add(r * sum_stride + i * 8) as *mut _, *lane);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(outputs: usize, inputs: usize) -> (Vec<f32>, Vec<f32>, QuantisedLinear) {
        let weights: Vec<f32> = (0..outputs * inputs)
            .map(|i| ((i * 7919 % 2003) as f32 - 1001.0) / 1000.0)
            .collect();
        let bias: Vec<f32> = (0..outputs).map(|o| o as f32 / 100.0).collect();
        let linear = QuantisedLinear::new(&weights, &bias, outputs, inputs).unwrap();
        (weights, bias, linear)
    }

    #[test]
    fn every_kernel_this_cpu_has_sums_exactly_what_the_portable_loop_sums_for_every_row_count() {
        let (_, _, linear) = map(128, 96);
        let mut checked = Vec::new();
        for kernels in [Kernels::Avx512Vnni, Kernels::Avx2] {
            if kernels > Kernels::detect() {
                continue;
            }
            for rows in 1..=9 {
                let mut bytes: Vec<u8> = (0..rows * 96).map(|i| (i * 31 % 256) as u8).collect();
                // The extremes, where 16-bit sums would saturate.
                bytes[..8].copy_from_slice(&[255, 255, 255, 255, 0, 255, 1, 254]);
                let mut expected = vec![0i32; rows * 128];
                portable_products(&bytes, rows, &linear, &mut expected);
                let mut got = vec![0i32; rows * 128];
                products(&bytes, rows, &linear, &mut got, kernels);
                assert_eq!(got, expected, "{kernels:?}, {rows} rows");
            }
            checked.push(kernels);
        }
        println!("kernels checked on this CPU: {checked:?}");
    }

    #[test]
    fn the_portable_loops_weights_are_each_outputs_scaled_weights_in_order() {
        let (weights, _, linear) = map(128, 96);
        let rows = linear.row_major();
        for (o, row) in weights.chunks_exact(96).enumerate() {
            for (i, w) in row.iter().enumerate() {
                let scaled = (w / linear.scales[o])
                    .round_ties_even()
                    .clamp(-127.0, 127.0);
                assert_eq!(rows[o * 96 + i], scaled as i8, "output {o}, input {i}");
            }
        }
    }

    #[test]
    fn a_quantised_map_stays_within_a_percent_of_the_exact_one() {
        let (weights, bias, linear) = map(64, 384);
        let rows = 5;
        let x: Vec<f32> = (0..rows * 384)
            .map(|i| ((i * 104729 % 997) as f32 - 498.0) / 250.0)
            .collect();
        let mut out = vec![0f32; rows * 64];
        linear.forward(&x, &mut out, Kernels::detect());
        for r in 0..rows {
            let mut worst = 0f32;
            let mut norm = 0f32;
            for o in 0..64 {
                let exact: f32 = (0..384)
                    .map(|i| x[r * 384 + i] * weights[o * 384 + i])
                    .sum::<f32>()
                    + bias[o];
                worst = worst.max((exact - out[r * 64 + o]).abs());
                norm = norm.max(exact.abs());
            }
            assert!(worst < 0.01 * norm, "row {r}: off by {worst} of {norm}");
        }
    }

    #[test]
    fn shapes_the_kernel_cannot_take_are_refused() {
        assert!(QuantisedLinear::new(&[0.0; 40 * 8], &[0.0; 40], 40, 8).is_err());
        assert!(QuantisedLinear::new(&[0.0; 64 * 6], &[0.0; 64], 64, 6).is_err());
        assert!(QuantisedLinear::new(&[0.0; 10], &[0.0; 64], 64, 8).is_err());
    }
}
