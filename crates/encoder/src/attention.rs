//! Multi-head self-attention over one sequence, four query rows at a time so that each key and
//! value row is read once for all four; AVX-512 where the CPU has it, plain loops elsewhere.

use crate::kernels::Kernels;
use crate::maths;

/// The width of an attention head the encoder takes (MiniLM-L6's and -L12's: 384 / 12).
pub const HEAD_WIDTH: usize = 32;
/// Query rows attended together.
const ROWS: usize = 4;
/// Lanes of one 512-bit register of f32.
const LANES: usize = 16;

/// What attention needs besides its input, allocated once per sequence.
pub struct Scratch {
    tokens: usize,
    /// Tokens rounded up to whole lanes.
    padded: usize,
    /// One head's keys, transposed: `HEAD_WIDTH` rows of `padded`, zeros past the tokens.
    keys: Vec<f32>,
    /// `ROWS` rows of `padded` scores.
    scores: Vec<f32>,
}

impl Scratch {
    pub fn new(tokens: usize) -> Self {
        let padded = tokens.div_ceil(LANES) * LANES;
        Scratch {
            tokens,
            padded,
            keys: vec![0.0; HEAD_WIDTH * padded],
            scores: vec![0.0; ROWS * padded],
        }
    }
}

/// `context[t]`, per head, is the values' average weighted by softmax(q·k / √d); `qkv` holds
/// each token's queries, keys and values side by side (`3 × heads × HEAD_WIDTH` per token).
#[inline(always)]
pub fn attend(
    heads: usize,
    qkv: &[f32],
    scratch: &mut Scratch,
    context: &mut [f32],
    kernels: Kernels,
) {
    let hidden = heads * HEAD_WIDTH;
    let (tokens, padded) = (scratch.tokens, scratch.padded);
    let scale = 1.0 / (HEAD_WIDTH as f32).sqrt();
    for head in 0..heads {
        let q_at = head * HEAD_WIDTH;
        let (k_at, v_at) = (hidden + q_at, 2 * hidden + q_at);
        for t in 0..tokens {
            for j in 0..HEAD_WIDTH {
                scratch.keys[j * padded + t] = qkv[t * 3 * hidden + k_at + j];
            }
        }
        let mut first = 0;
        while first < tokens {
            let rows = ROWS.min(tokens - first);
            let mut queries = [[0f32; HEAD_WIDTH]; ROWS];
            for (r, query) in queries.iter_mut().enumerate().take(rows) {
                let at = (first + r) * 3 * hidden + q_at;
                for (q, v) in query.iter_mut().zip(&qkv[at..at + HEAD_WIDTH]) {
                    *q = v * scale;
                }
            }
            score(
                &queries,
                &scratch.keys,
                padded,
                &mut scratch.scores,
                kernels,
            );
            for row in scratch.scores.chunks_exact_mut(padded).take(rows) {
                maths::softmax(&mut row[..tokens]);
            }
            let values = &qkv[v_at..];
            let out = weigh(&scratch.scores, padded, tokens, values, 3 * hidden, kernels);
            for (r, out) in out.iter().enumerate().take(rows) {
                let at = (first + r) * hidden + q_at;
                context[at..at + HEAD_WIDTH].copy_from_slice(out);
            }
            first += rows;
        }
    }
}

/// `scores[r][u] = queries[r] · keys[·][u]` for every padded key column.
#[inline(always)]
fn score(
    queries: &[[f32; HEAD_WIDTH]; ROWS],
    keys: &[f32],
    padded: usize,
    scores: &mut [f32],
    kernels: Kernels,
) {
    #[cfg(target_arch = "x86_64")]
    if kernels == Kernels::Avx512Vnni {
        // SAFETY: `Kernels::detect` found AVX-512 F; the slices hold what `Scratch` sized.
        unsafe { wide::score(queries, keys, padded, scores) };
        return;
    }
    let _ = kernels;
    portable_score(queries, keys, padded, scores);
}

/// `score` in plain loops, for CPUs without AVX-512.
#[inline(always)]
fn portable_score(
    queries: &[[f32; HEAD_WIDTH]; ROWS],
    keys: &[f32],
    padded: usize,
    scores: &mut [f32],
) {
    for r in 0..ROWS {
        let row = &mut scores[r * padded..(r + 1) * padded];
        row.fill(0.0);
        for j in 0..HEAD_WIDTH {
            let q = queries[r][j];
            for (s, k) in row.iter_mut().zip(&keys[j * padded..(j + 1) * padded]) {
                *s += q * k;
            }
        }
    }
}

/// Per row, `Σ_u scores[r][u] · values[u]`, where value row `u` starts at `u × stride`.
#[inline(always)]
fn weigh(
    scores: &[f32],
    padded: usize,
    tokens: usize,
    values: &[f32],
    stride: usize,
    kernels: Kernels,
) -> [[f32; HEAD_WIDTH]; ROWS] {
    #[cfg(target_arch = "x86_64")]
    if kernels == Kernels::Avx512Vnni {
        // SAFETY: as in `score`; every value row read is within `values` (asserted inside).
        return unsafe { wide::weigh(scores, padded, tokens, values, stride) };
    }
    let _ = kernels;
    portable_weigh(scores, padded, tokens, values, stride)
}

/// `weigh` in plain loops, for CPUs without AVX-512.
#[inline(always)]
fn portable_weigh(
    scores: &[f32],
    padded: usize,
    tokens: usize,
    values: &[f32],
    stride: usize,
) -> [[f32; HEAD_WIDTH]; ROWS] {
    let mut out = [[0f32; HEAD_WIDTH]; ROWS];
    for (r, out) in out.iter_mut().enumerate() {
        for u in 0..tokens {
            let p = scores[r * padded + u];
            for (o, v) in out
                .iter_mut()
                .zip(&values[u * stride..u * stride + HEAD_WIDTH])
            {
                *o += p * v;
            }
        }
    }
    out
}

#[cfg(target_arch = "x86_64")]
mod wide {
    use super::{HEAD_WIDTH, LANES, ROWS};
    use std::arch::x86_64::*;

    /// # Safety
    /// AVX-512 F; `keys` holds `HEAD_WIDTH × padded` and `scores` `ROWS × padded` values,
    /// `padded` a multiple of 16 (all asserted).
    #[target_feature(enable = "avx512f")]
    pub unsafe fn score(
        queries: &[[f32; HEAD_WIDTH]; ROWS],
        keys: &[f32],
        padded: usize,
        scores: &mut [f32],
    ) {
        // SAFETY: the caller holds the contract above.
        unsafe {
            assert!(keys.len() >= HEAD_WIDTH * padded && scores.len() >= ROWS * padded);
            assert!(padded.is_multiple_of(LANES));
            for block in (0..padded).step_by(LANES) {
                let mut sums = [_mm512_setzero_ps(); ROWS];
                for j in 0..HEAD_WIDTH {
                    let k = _mm512_loadu_ps(keys.as_ptr().add(j * padded + block));
                    for (sum, query) in sums.iter_mut().zip(queries) {
                        *sum = _mm512_fmadd_ps(_mm512_set1_ps(query[j]), k, *sum);
                    }
                }
                for (r, sum) in sums.iter().enumerate() {
                    _mm512_storeu_ps(scores.as_mut_ptr().add(r * padded + block), *sum);
                }
            }
        }
    }

    /// # Safety
    /// AVX-512 F; `scores` holds `ROWS × padded` values and `values` a `HEAD_WIDTH`-wide row
    /// at every `u × stride` for `u < tokens`.
    #[target_feature(enable = "avx512f")]
    pub unsafe fn weigh(
        scores: &[f32],
        padded: usize,
        tokens: usize,
        values: &[f32],
        stride: usize,
    ) -> [[f32; HEAD_WIDTH]; ROWS] {
        // SAFETY: the caller holds the contract above.
        unsafe {
            assert!(scores.len() >= ROWS * padded && tokens <= padded);
            assert!(tokens == 0 || values.len() >= (tokens - 1) * stride + HEAD_WIDTH);
            let mut sums = [[_mm512_setzero_ps(); 2]; ROWS];
            for u in 0..tokens {
                let v = values.as_ptr().add(u * stride);
                let (low, high) = (_mm512_loadu_ps(v), _mm512_loadu_ps(v.add(LANES)));
                for (r, sum) in sums.iter_mut().enumerate() {
                    let p = _mm512_set1_ps(*scores.get_unchecked(r * padded + u));
                    sum[0] = _mm512_fmadd_ps(p, low, sum[0]);
                    sum[1] = _mm512_fmadd_ps(p, high, sum[1]);
                }
            }
            let mut out = [[0f32; HEAD_WIDTH]; ROWS];
            for (o, sum) in out.iter_mut().zip(&sums) {
                _mm512_storeu_ps(o.as_mut_ptr(), sum[0]);
                _mm512_storeu_ps(o.as_mut_ptr().add(LANES), sum[1]);
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Attention by its definition, one row and one head at a time, in f64.
    fn by_definition(heads: usize, tokens: usize, qkv: &[f32]) -> Vec<f64> {
        let hidden = heads * HEAD_WIDTH;
        let mut out = vec![0f64; tokens * hidden];
        for head in 0..heads {
            for t in 0..tokens {
                let q = |j: usize| f64::from(qkv[t * 3 * hidden + head * HEAD_WIDTH + j]);
                let k = |u: usize, j: usize| {
                    f64::from(qkv[u * 3 * hidden + hidden + head * HEAD_WIDTH + j])
                };
                let logits: Vec<f64> = (0..tokens)
                    .map(|u| (0..HEAD_WIDTH).map(|j| q(j) * k(u, j)).sum::<f64>() / 32f64.sqrt())
                    .collect();
                let top = logits.iter().cloned().fold(f64::MIN, f64::max);
                let weights: Vec<f64> = logits.iter().map(|l| (l - top).exp()).collect();
                let total: f64 = weights.iter().sum();
                for j in 0..HEAD_WIDTH {
                    out[t * hidden + head * HEAD_WIDTH + j] = (0..tokens)
                        .map(|u| {
                            weights[u] / total
                                * f64::from(
                                    qkv[u * 3 * hidden + 2 * hidden + head * HEAD_WIDTH + j],
                                )
                        })
                        .sum();
                }
            }
        }
        out
    }

    #[test]
    fn the_plain_loops_give_what_the_wide_kernels_give() {
        let (tokens, padded) = (21, 32);
        let queries: [[f32; HEAD_WIDTH]; ROWS] =
            std::array::from_fn(|r| std::array::from_fn(|j| ((r * 37 + j * 11) % 17) as f32 - 8.0));
        let keys: Vec<f32> = (0..HEAD_WIDTH * padded)
            .map(|i| {
                if i % padded < tokens {
                    ((i * 13) % 29) as f32 / 7.0 - 2.0
                } else {
                    0.0
                }
            })
            .collect();
        let mut wide = vec![0f32; ROWS * padded];
        let mut plain = vec![0f32; ROWS * padded];
        score(&queries, &keys, padded, &mut wide, Kernels::detect());
        portable_score(&queries, &keys, padded, &mut plain);
        for (a, b) in wide.iter().zip(&plain) {
            assert!((a - b).abs() <= 1e-4 * b.abs().max(1.0), "{a} against {b}");
        }
        let stride = 3 * HEAD_WIDTH;
        let values: Vec<f32> = (0..tokens * stride)
            .map(|i| ((i * 7) % 23) as f32 - 11.0)
            .collect();
        let weights: Vec<f32> = (0..ROWS * padded).map(|i| (i % 5) as f32 / 10.0).collect();
        let a = weigh(&weights, padded, tokens, &values, stride, Kernels::detect());
        let b = portable_weigh(&weights, padded, tokens, &values, stride);
        for (x, y) in a.iter().flatten().zip(b.iter().flatten()) {
            assert!((x - y).abs() <= 1e-4 * y.abs().max(1.0), "{x} against {y}");
        }
    }

    #[test]
    fn attention_matches_its_definition_for_lengths_around_the_lanes() {
        let heads = 2;
        for tokens in [1, 3, 4, 5, 15, 16, 17, 33] {
            let qkv: Vec<f32> = (0..tokens * 3 * heads * HEAD_WIDTH)
                .map(|i| ((i * 7919 % 1009) as f32 - 504.0) / 200.0)
                .collect();
            let mut scratch = Scratch::new(tokens);
            let mut context = vec![0f32; tokens * heads * HEAD_WIDTH];
            attend(heads, &qkv, &mut scratch, &mut context, Kernels::detect());
            for (got, want) in context.iter().zip(by_definition(heads, tokens, &qkv)) {
                assert!(
                    (f64::from(*got) - want).abs() < 1e-4,
                    "{tokens} tokens: {got} not {want}"
                );
            }
        }
    }
}
