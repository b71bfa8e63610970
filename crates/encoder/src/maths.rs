//! The encoder's f32 arithmetic besides its linear maps: layer normalisation, GELU, softmax,
//! written as plain loops without branches so the compiler vectorises them.

/// `e^x` to about one part in 10⁷ for `x` in -87..=88 (clamped outside): `2^n` from the
/// exponent bits times a degree-6 polynomial on what is left.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2_E: f32 = std::f32::consts::LOG2_E;
    const LN2_HIGH: f32 = 0.693_145_75;
    const LN2_LOW: f32 = 1.428_606_8e-6;
    let x = x.clamp(-87.0, 88.0);
    // Adding 1.5 × 2²³ rounds to the nearest integer and leaves it in the mantissa's low bits.
    let shifted = x * LOG2_E + ROUNDER;
    let n = shifted - ROUNDER;
    let whole = shifted.to_bits() as i32 - ROUNDER.to_bits() as i32;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    p * f32::from_bits(((whole + 127) << 23) as u32)
}

/// 1.5 × 2²³: a float in -2²²..2²² plus this is rounded to an integer (ties to even), held in
/// the low bits of the sum, so no conversion instruction or call is needed.
pub const ROUNDER: f32 = 12_582_912.0;

/// The error function, Abramowitz and Stegun's 7.1.26 (absolute error under 1.5 × 10⁻⁷).
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let a = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * a);
    let poly = t
        * (0.254_829_6
            + t * (-0.284_496_74 + t * (1.421_413_7 + t * (-1.453_152_1 + t * 1.061_405_4))));
    (1.0 - poly * exp(-a * a)).copysign(x)
}

/// GELU in its exact form, `x/2 · (1 + erf(x/√2))`, in place.
#[inline(always)]
pub fn gelu(values: &mut [f32]) {
    for v in values.iter_mut() {
        *v = 0.5 * *v * (1.0 + erf(*v * std::f32::consts::FRAC_1_SQRT_2));
    }
}

/// Each row of `values` (rows of `width`) scaled to mean 0 and variance 1, then by `gain`
/// plus `bias`.
#[inline(always)]
pub fn layer_norm(values: &mut [f32], width: usize, gain: &[f32], bias: &[f32], epsilon: f32) {
    for row in values.chunks_exact_mut(width) {
        let mean = sum(row) / width as f32;
        let mut spread = 0f32;
        for v in row.iter() {
            spread += (v - mean) * (v - mean);
        }
        let scale = 1.0 / (spread / width as f32 + epsilon).sqrt();
        for ((v, g), b) in row.iter_mut().zip(gain).zip(bias) {
            *v = (*v - mean) * scale * g + b;
        }
    }
}

/// `values` replaced by `e^v / Σ e^v`.
#[inline(always)]
pub fn softmax(values: &mut [f32]) {
    let largest = values.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    for v in values.iter_mut() {
        *v = exp(*v - largest);
    }
    let inverse = 1.0 / sum(values);
    for v in values.iter_mut() {
        *v *= inverse;
    }
}

/// A sum in sixteen running parts, so that it vectorises.
#[inline(always)]
pub fn sum(values: &[f32]) -> f32 {
    let mut parts = [0f32; 16];
    let chunks = values.chunks_exact(16);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (p, v) in parts.iter_mut().zip(chunk) {
            *p += v;
        }
    }
    parts.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_and_erf_agree_with_the_standard_library() {
        for i in -4000..=4000 {
            let x = i as f32 / 100.0;
            let exact = x.exp();
            assert!(
                (exp(x) - exact).abs() <= 3e-7 * exact,
                "exp({x}) = {} not {exact}",
                exp(x)
            );
            if x.abs() <= 3.0 {
                let e = series_erf(f64::from(x));
                assert!((f64::from(erf(x)) - e).abs() < 5e-7, "erf({x})");
            } else {
                // erfc(3) is 2.2e-5 and falls from there.
                assert!(1.0 - erf(x).abs() < 2.3e-5 && erf(x).signum() == x.signum());
            }
        }
        assert_eq!(exp(-200.0), exp(-87.0));
        assert!(exp(200.0).is_finite());
    }

    /// erf in f64 by its Maclaurin series, exact enough for |x| ≤ 3: the test's reference.
    fn series_erf(x: f64) -> f64 {
        // Σ (-1)^n x^(2n+1) / (n! (2n+1)) · 2/√π.
        let mut term = x;
        let mut total = x;
        for n in 1..200 {
            term *= -x * x / n as f64;
            total += term / (2 * n + 1) as f64;
        }
        total * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn softmax_sums_to_one_and_keeps_order() {
        let mut v = vec![1.0, 3.0, -2.0, 3.0, 0.5];
        softmax(&mut v);
        assert!((v.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(v[1] > v[0] && v[0] > v[4] && v[4] > v[2] && v[1] == v[3]);
    }

    #[test]
    fn layer_norm_gives_each_row_mean_zero_and_unit_variance() {
        let mut v: Vec<f32> = (0..40).map(|i| (i * i) as f32).collect();
        layer_norm(&mut v, 20, &[1.0; 20], &[0.0; 20], 1e-12);
        for row in v.chunks(20) {
            let mean = row.iter().sum::<f32>() / 20.0;
            let var = row.iter().map(|x| (x - mean) * (x - mean)).sum::<f32>() / 20.0;
            assert!(mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-4);
        }
    }
}
