//! A BERT sentence encoder (all-MiniLM-L6-v2) run on the CPU with 8-bit weights in its linear
//! maps: token ids in, one mean-pooled, L2-normalised vector out.
//!
//! The forward pass is the model's own (embeddings, then per layer self-attention and a GELU
//! feed-forward, each followed by a residual sum and layer normalisation); only the six linear
//! maps of a layer run in 8 bits (`int8`), attention and everything else in f32.

#![deny(unsafe_op_in_unsafe_fn)]
#![warn(clippy::undocumented_unsafe_blocks)]

mod attention;
mod int8;
mod kernels;
mod maths;

use attention::HEAD_WIDTH;
pub use kernels::Kernels;

pub use int8::{QuantisedLinear, ShapeError};
use safetensors::SafeTensors;

/// Why the weights cannot be used.
#[derive(Debug)]
pub struct LoadError(pub String);

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LoadError {}

/// Why a sequence of ids cannot be encoded.
#[derive(Debug, PartialEq, Eq)]
pub enum EncodeError {
    Empty,
    TooLong { tokens: usize, positions: usize },
    UnknownToken(u32),
}

impl std::fmt::Display for EncodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EncodeError::Empty => f.write_str("no tokens to encode"),
            EncodeError::TooLong { tokens, positions } => {
                write!(f, "{tokens} tokens, the model has {positions} positions")
            }
            EncodeError::UnknownToken(id) => write!(f, "token id {id} is outside the vocabulary"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// One transformer layer's weights.
struct Layer {
    /// Query, key and value maps side by side: `3 × hidden` outputs.
    qkv: QuantisedLinear,
    attention_out: QuantisedLinear,
    attention_norm: Norm,
    intermediate: QuantisedLinear,
    output: QuantisedLinear,
    output_norm: Norm,
}

struct Norm {
    gain: Vec<f32>,
    bias: Vec<f32>,
}

pub struct Encoder {
    hidden: usize,
    heads: usize,
    epsilon: f32,
    words: Vec<f32>,
    positions: Vec<f32>,
    token_type: Vec<f32>,
    embedding_norm: Norm,
    layers: Vec<Layer>,
}

impl Encoder {
    /// From a BERT checkpoint in safetensors form (f32), its number of attention heads and its
    /// layer normalisation's epsilon (both from its `config.json`).
    pub fn load(weights: &[u8], heads: usize, epsilon: f32) -> Result<Encoder, LoadError> {
        let tensors =
            SafeTensors::deserialize(weights).map_err(|e| LoadError(format!("weights: {e}")))?;
        let read = |name: &str| -> Result<(Vec<usize>, Vec<f32>), LoadError> {
            let view = tensors
                .tensor(name)
                .map_err(|_| LoadError(format!("weights: {name} is missing")))?;
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(LoadError(format!("weights: {name} is not f32")));
            }
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            Ok((view.shape().to_vec(), values))
        };
        let (word_shape, words) = read("embeddings.word_embeddings.weight")?;
        let hidden = match word_shape[..] {
            [_, hidden] => hidden,
            _ => 0,
        };
        if hidden != heads * HEAD_WIDTH {
            return Err(LoadError(format!(
                "weights: {hidden} hidden units do not split into {heads} heads of {HEAD_WIDTH}"
            )));
        }
        let vector = |name: &str, len: usize| -> Result<Vec<f32>, LoadError> {
            let (shape, values) = read(name)?;
            if shape != [len] {
                return Err(LoadError(format!("weights: {name} has shape {shape:?}")));
            }
            Ok(values)
        };
        let norm = |prefix: &str| -> Result<Norm, LoadError> {
            Ok(Norm {
                gain: vector(&format!("{prefix}.weight"), hidden)?,
                bias: vector(&format!("{prefix}.bias"), hidden)?,
            })
        };
        let matrix = |name: &str| -> Result<(usize, usize, Vec<f32>), LoadError> {
            let (shape, values) = read(&format!("{name}.weight"))?;
            match shape[..] {
                [outputs, inputs] => Ok((outputs, inputs, values)),
                _ => Err(LoadError(format!("weights: {name} has shape {shape:?}"))),
            }
        };
        let linear = |names: &[String]| -> Result<QuantisedLinear, LoadError> {
            let mut weights = Vec::new();
            let mut bias = Vec::new();
            let mut outputs = 0;
            let mut inputs = 0;
            for name in names {
                let (o, i, w) = matrix(name)?;
                if inputs != 0 && i != inputs {
                    return Err(LoadError(format!("weights: {name} has {i} inputs")));
                }
                inputs = i;
                outputs += o;
                weights.extend(w);
                bias.extend(vector(&format!("{name}.bias"), o)?);
            }
            QuantisedLinear::new(&weights, &bias, outputs, inputs)
                .map_err(|e| LoadError(format!("weights: {}", e.0)))
        };
        let mut layers = Vec::new();
        while tensors
            .tensor(&format!(
                "encoder.layer.{}.output.dense.weight",
                layers.len()
            ))
            .is_ok()
        {
            let at = format!("encoder.layer.{}", layers.len());
            let qkv = ["query", "key", "value"].map(|m| format!("{at}.attention.self.{m}"));
            let layer = Layer {
                qkv: linear(&qkv)?,
                attention_out: linear(&[format!("{at}.attention.output.dense")])?,
                attention_norm: norm(&format!("{at}.attention.output.LayerNorm"))?,
                intermediate: linear(&[format!("{at}.intermediate.dense")])?,
                output: linear(&[format!("{at}.output.dense")])?,
                output_norm: norm(&format!("{at}.output.LayerNorm"))?,
            };
            let fits = layer.qkv.inputs() == hidden
                && layer.qkv.outputs() == 3 * hidden
                && layer.attention_out.inputs() == hidden
                && layer.attention_out.outputs() == hidden
                && layer.intermediate.inputs() == hidden
                && layer.output.inputs() == layer.intermediate.outputs()
                && layers.first().is_none_or(|first: &Layer| {
                    first.intermediate.outputs() == layer.intermediate.outputs()
                })
                && layer.output.outputs() == hidden;
            if !fits {
                return Err(LoadError(format!("weights: {at} does not fit {hidden}")));
            }
            layers.push(layer);
        }
        if layers.is_empty() {
            return Err(LoadError("weights: no encoder layers".into()));
        }
        let (position_shape, positions) = read("embeddings.position_embeddings.weight")?;
        let (type_shape, token_types) = read("embeddings.token_type_embeddings.weight")?;
        if position_shape.len() != 2
            || position_shape[1] != hidden
            || type_shape.len() != 2
            || type_shape[1] != hidden
        {
            return Err(LoadError("weights: embeddings of another width".into()));
        }
        Ok(Encoder {
            hidden,
            heads,
            epsilon,
            words,
            positions,
            token_type: token_types
                .get(..hidden)
                .ok_or_else(|| LoadError("weights: no token type embeddings".into()))?
                .to_vec(),
            embedding_norm: norm("embeddings.LayerNorm")?,
            layers,
        })
    }

    /// The vector's length.
    pub fn dimensions(&self) -> usize {
        self.hidden
    }

    /// The unit vector of one sequence of token ids (with its `[CLS]` and `[SEP]`). Every id
    /// counts: there is no attention mask, so pass one text's ids, never padding.
    pub fn encode(&self, ids: &[u32]) -> Result<Vec<f32>, EncodeError> {
        self.encode_with(ids, Kernels::detect())
    }

    /// `encode` with kernels no better than `kernels` (lowered to what the CPU has): for tests
    /// and benchmarks of the paths other CPUs take.
    pub fn encode_with(&self, ids: &[u32], kernels: Kernels) -> Result<Vec<f32>, EncodeError> {
        let vocabulary = self.words.len() / self.hidden;
        let positions = self.positions.len() / self.hidden;
        if ids.is_empty() {
            return Err(EncodeError::Empty);
        }
        if ids.len() > positions {
            return Err(EncodeError::TooLong {
                tokens: ids.len(),
                positions,
            });
        }
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= vocabulary) {
            return Err(EncodeError::UnknownToken(id));
        }
        #[cfg(target_arch = "x86_64")]
        match kernels.min(Kernels::detect()) {
            // SAFETY: `Kernels::detect` found the features each of these is compiled for.
            Kernels::Avx512Vnni => return Ok(unsafe { self.forward_avx512(ids) }),
            // SAFETY: as above.
            Kernels::Avx2 => return Ok(unsafe { self.forward_avx2(ids) }),
            Kernels::Plain => {}
        }
        Ok(self.forward(ids, Kernels::Plain))
    }

    /// The forward pass compiled for AVX-512, so that its f32 loops use 16 lanes.
    ///
    /// # Safety
    /// The CPU must have AVX-512 F, BW and VNNI, and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512bw,avx512vnni,fma")]
    unsafe fn forward_avx512(&self, ids: &[u32]) -> Vec<f32> {
        self.forward(ids, Kernels::Avx512Vnni)
    }

    /// The forward pass compiled for AVX2 and FMA.
    ///
    /// # Safety
    /// The CPU must have AVX2 and FMA.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn forward_avx2(&self, ids: &[u32]) -> Vec<f32> {
        self.forward(ids, Kernels::Avx2)
    }

    #[inline(always)]
    fn forward(&self, ids: &[u32], kernels: Kernels) -> Vec<f32> {
        let h = self.hidden;
        let tokens = ids.len();
        let mut x = vec![0f32; tokens * h];
        for (t, (row, &id)) in x.chunks_exact_mut(h).zip(ids).enumerate() {
            let word = &self.words[id as usize * h..(id as usize + 1) * h];
            let position = &self.positions[t * h..(t + 1) * h];
            for (((v, w), p), k) in row.iter_mut().zip(word).zip(position).zip(&self.token_type) {
                *v = w + p + k;
            }
        }
        let norm = &self.embedding_norm;
        maths::layer_norm(&mut x, h, &norm.gain, &norm.bias, self.epsilon);

        let mut qkv = vec![0f32; tokens * 3 * h];
        let mut context = vec![0f32; tokens * h];
        let mut projected = vec![0f32; tokens * h];
        let mut wide = vec![0f32; tokens * self.layers[0].intermediate.outputs()];
        let mut scratch = attention::Scratch::new(tokens);
        for layer in &self.layers {
            layer.qkv.forward(&x, &mut qkv, kernels);
            attention::attend(self.heads, &qkv, &mut scratch, &mut context, kernels);
            layer
                .attention_out
                .forward(&context, &mut projected, kernels);
            add(&mut x, &projected);
            let norm = &layer.attention_norm;
            maths::layer_norm(&mut x, h, &norm.gain, &norm.bias, self.epsilon);

            let wide = &mut wide[..tokens * layer.intermediate.outputs()];
            layer.intermediate.forward(&x, wide, kernels);
            maths::gelu(wide);
            layer.output.forward(wide, &mut projected, kernels);
            add(&mut x, &projected);
            let norm = &layer.output_norm;
            maths::layer_norm(&mut x, h, &norm.gain, &norm.bias, self.epsilon);
        }

        let mut pooled = vec![0f32; h];
        for row in x.chunks_exact(h) {
            add(&mut pooled, row);
        }
        let length = pooled.iter().map(|v| v * v).sum::<f32>().sqrt();
        let scale = if length > 0.0 { 1.0 / length } else { 0.0 };
        pooled.iter_mut().for_each(|v| *v *= scale);
        pooled
    }
}

#[inline(always)]
fn add(into: &mut [f32], values: &[f32]) {
    for (a, b) in into.iter_mut().zip(values) {
        *a += b;
    }
}
