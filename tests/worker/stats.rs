//! The statistics the worker's tests use, small enough to check by hand: the normal CDF, the
//! Kolmogorov-Smirnov test against it, and Pearson's correlation with its test of zero.

/// The standard normal CDF, through `erfc` (Chebyshev fit of Numerical Recipes' `erfcc`:
/// relative error below 1.2e-7 everywhere, far below what a KS test of a few hundred points
/// can see).
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * erfc(-x / std::f64::consts::SQRT_2)
}

fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let poly = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ]
    .iter()
    .rev()
    .fold(0.0, |acc, c| c + t * acc);
    let r = t * (-z * z + poly).exp();
    if x >= 0.0 { r } else { 2.0 - r }
}

/// The KS statistic `D = sup |F_n(z) - cdf(z)|` of `sample`.
pub fn ks_statistic(sample: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let mut z = sample.to_vec();
    z.sort_by(f64::total_cmp);
    let n = z.len() as f64;
    z.iter()
        .enumerate()
        .map(|(i, &v)| {
            let f = cdf(v);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// P(D_n >= d) under the null: Kolmogorov's limit distribution at Stephens' corrected
/// `lambda = (sqrt n + 0.12 + 0.11 / sqrt n) d` (accurate to about 1% of p from n = 5 on).
pub fn ks_p_value(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    if lambda < 0.2 {
        return 1.0;
    }
    let p: f64 = (1..=100)
        .map(|k| {
            let k = k as f64;
            let sign = if k as u64 % 2 == 1 { 2.0 } else { -2.0 };
            sign * (-2.0 * k * k * lambda * lambda).exp()
        })
        .sum();
    p.clamp(0.0, 1.0)
}

/// Pearson's correlation of two equally long series.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let n = x.len() as f64;
    let (mx, my) = (x.iter().sum::<f64>() / n, y.iter().sum::<f64>() / n);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx) * (a - mx);
        syy += (b - my) * (b - my);
    }
    sxy / (sxx * syy).sqrt()
}

/// Two-sided p-value of `r` from `n` independent pairs under "no correlation": Fisher's
/// `atanh(r) sqrt(n - 3)` is standard normal.
pub fn correlation_p_value(r: f64, n: usize) -> f64 {
    let z = r.atanh() * ((n - 3) as f64).sqrt();
    2.0 * normal_cdf(-z.abs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_tables() {
        // Values from any normal table (to 10 places).
        for (x, want) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746_1),
            (-1.0, 0.158_655_253_9),
            (1.959_963_985, 0.975),
            (3.0, 0.998_650_101_97),
            (-4.0, 0.000_031_671_242),
        ] {
            assert!((normal_cdf(x) - want).abs() < 2e-7, "Phi({x}) = {} != {want}", normal_cdf(x));
        }
    }

    #[test]
    fn ks_p_value_matches_the_tabled_critical_values() {
        // Asymptotic critical values of sqrt(n) D: 1.358 at 5%, 1.628 at 1%.
        let n = 10_000;
        let corr = (n as f64).sqrt() + 0.12 + 0.11 / (n as f64).sqrt();
        assert!((ks_p_value(1.358 / corr, n) - 0.05).abs() < 0.001);
        assert!((ks_p_value(1.628 / corr, n) - 0.01).abs() < 0.0005);
        assert_eq!(ks_p_value(0.0, n), 1.0);
    }

    #[test]
    fn ks_accepts_normal_quantiles_and_rejects_a_uniform_sample() {
        // The n quantiles of N(0,1) itself (by bisection on the CDF): D = 1/(2n).
        let n = 300;
        let quantile = |p: f64| {
            let (mut lo, mut hi) = (-10.0, 10.0);
            for _ in 0..100 {
                let mid = (lo + hi) / 2.0;
                if normal_cdf(mid) < p { lo = mid } else { hi = mid }
            }
            lo
        };
        let z: Vec<f64> = (0..n).map(|i| quantile((i as f64 + 0.5) / n as f64)).collect();
        let d = ks_statistic(&z, normal_cdf);
        assert!((d - 0.5 / n as f64).abs() < 1e-6, "D = {d}");
        assert!(ks_p_value(d, n) > 0.99);
        let uniform: Vec<f64> = (0..n).map(|i| -2.0 + 4.0 * i as f64 / n as f64).collect();
        assert!(ks_p_value(ks_statistic(&uniform, normal_cdf), n) < 0.01);
    }

    #[test]
    fn pearson_of_known_series() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert!((pearson(&x, &[2.0, 4.0, 6.0, 8.0, 10.0]) - 1.0).abs() < 1e-12);
        assert!((pearson(&x, &[5.0, 4.0, 3.0, 2.0, 1.0]) + 1.0).abs() < 1e-12);
        // By hand: deviations (-2..2) and (1, -1, 0, -1, 1): sum of products 0.
        assert!(pearson(&x, &[3.0, 1.0, 2.0, 1.0, 3.0]).abs() < 1e-12);
        assert!(correlation_p_value(0.0, 100) > 0.999);
        // r = 0.3 over 103 pairs: atanh(0.3) * 10 = 3.095, two-sided p = 0.00197.
        assert!((correlation_p_value(0.3, 103) - 0.001_97).abs() < 0.000_02);
    }
}
