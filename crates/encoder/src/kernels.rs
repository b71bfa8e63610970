//! Which instruction sets the encoder's kernels may use on this CPU, detected once.

use std::sync::OnceLock;

/// The kernels a forward pass runs, from the plainest up. A pass never runs kernels the CPU
/// lacks: `Encoder::encode_with` lowers a request to what `detect` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kernels {
    /// Plain loops, compiled for the target's baseline.
    Plain,
    /// The plain loops compiled for AVX2 and FMA (x86-64 from about 2013).
    Avx2,
    /// 8-bit products with AVX-512 VNNI, attention with AVX-512 F, the rest for AVX-512.
    Avx512Vnni,
}

impl Kernels {
    /// The best this CPU can run.
    pub fn detect() -> Kernels {
        static FOUND: OnceLock<Kernels> = OnceLock::new();
        *FOUND.get_or_init(|| {
            #[cfg(target_arch = "x86_64")]
            {
                use std::arch::is_x86_feature_detected as has;
                if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") && has!("fma") {
                    return Kernels::Avx512Vnni;
                }
                if has!("avx2") && has!("fma") {
                    return Kernels::Avx2;
                }
            }
            Kernels::Plain
        })
    }
}
