//! Sentence embeddings in process: all-MiniLM-L6-v2 (384 dimensions) tokenised here and run by
//! `voxanne_encoder` on the CPU (8-bit weights in its linear maps), mean-pooled and
//! L2-normalised, with an LRU cache for repeated questions. The model's files are checked
//! against pinned SHA-256 sums before use.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};
use tokenizers::{Tokenizer, TruncationParams};
use voxanne_encoder::Encoder;
pub use voxanne_encoder::Kernels;

/// Output size of the model.
pub const DIMENSIONS: usize = 384;

/// The files the appliance accepts, by SHA-256.
pub const MODEL_FILES: [(&str, &str); 3] = [
    (
        "config.json",
        "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    ),
    (
        "tokenizer.json",
        "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    ),
    (
        "model.safetensors",
        "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    ),
];

#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    #[error("embedding model: {0}")]
    Model(String),
}

fn model_err(e: impl std::fmt::Display) -> EmbedError {
    EmbedError::Model(e.to_string())
}

pub struct Embedder {
    encoder: Encoder,
    tokenizer: Tokenizer,
    cache: Mutex<lru::LruCache<String, Arc<Vec<f32>>>>,
}

/// What the appliance reads of the model's `config.json`.
#[derive(serde::Deserialize)]
struct ModelConfig {
    hidden_act: String,
    num_attention_heads: usize,
    layer_norm_eps: f32,
}

impl Embedder {
    /// Whether `dir` holds the model files at all (their sums are checked by `load`).
    pub fn present(dir: &Path) -> bool {
        MODEL_FILES.iter().all(|(f, _)| dir.join(f).is_file())
    }

    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        let mut bytes = Vec::new();
        for (name, sum) in MODEL_FILES {
            let data =
                std::fs::read(dir.join(name)).map_err(|e| model_err(format!("{name}: {e}")))?;
            if hex::encode(Sha256::digest(&data)) != sum {
                return Err(model_err(format!(
                    "{name} does not match its pinned SHA-256 sum"
                )));
            }
            bytes.push(data);
        }
        let config: ModelConfig = serde_json::from_slice(&bytes[0]).map_err(model_err)?;
        if config.hidden_act != "gelu" {
            return Err(model_err(format!(
                "activation {} is not the GELU the encoder runs",
                config.hidden_act
            )));
        }
        let mut tokenizer = Tokenizer::from_bytes(&bytes[1]).map_err(model_err)?;
        // The shipped tokenizer pads everything to 128 tokens: texts are encoded one at a
        // time, so no padding, and truncated at 256.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: 256,
                ..Default::default()
            }))
            .map_err(model_err)?;
        let encoder = Encoder::load(&bytes[2], config.num_attention_heads, config.layer_norm_eps)
            .map_err(model_err)?;
        if encoder.dimensions() != DIMENSIONS {
            return Err(model_err(format!(
                "the model gives {} dimensions, not {DIMENSIONS}",
                encoder.dimensions()
            )));
        }
        Ok(Embedder {
            encoder,
            tokenizer,
            cache: Mutex::new(lru::LruCache::new(
                NonZeroUsize::new(4096).unwrap_or(NonZeroUsize::MIN),
            )),
        })
    }

    /// Unit vectors for `texts`, in order.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, EmbedError> {
        texts
            .iter()
            .map(|text| self.embed_with_kernels(text, Kernels::detect()))
            .collect()
    }

    /// One text's unit vector with kernels no better than `kernels`: for tests and benchmarks
    /// of what CPUs without AVX-512 run.
    pub fn embed_with_kernels(&self, text: &str, kernels: Kernels) -> Result<Vec<f32>, EmbedError> {
        let encoding = self.tokenizer.encode(text, true).map_err(model_err)?;
        self.encoder
            .encode_with(encoding.get_ids(), kernels)
            .map_err(model_err)
    }

    /// One query's vector, from the cache when the same text was asked before.
    pub fn embed_query(&self, text: &str) -> Result<Arc<Vec<f32>>, EmbedError> {
        let key = text.trim().to_lowercase();
        if let Some(v) = self
            .cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            return Ok(v.clone());
        }
        let v = Arc::new(self.embed(&[text])?.pop().unwrap_or_default());
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .put(key, v.clone());
        Ok(v)
    }
}

/// Cosine similarity of two unit vectors (their dot product). Eight running sums, so the
/// compiler keeps them in one SIMD register instead of one sequential chain of additions.
pub fn cosine(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut sums = [0.0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for i in 0..8 {
            sums[i] += x[i] * y[i];
        }
    }
    sums.iter().sum::<f32>() + tail
}
