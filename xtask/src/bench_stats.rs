//! Whether a difference `cargo xtask bench` sees is larger than the machine's noise.
//!
//! Two of the goals compare figures that are equal up to noise once the work is done (2 callers
//! against 1 on a source that shares no written memory; a cold acquire, which is Hydra's time,
//! against Go's). A median a hair above the other's says nothing by itself, so beside the strict
//! comparison the bench says whether the difference is measurable, with a standard
//! non-parametric test: the sign test for figures measured in pairs, the Mann-Whitney U test for
//! two sets of samples. One-sided: the question is only ever "is ours slower".

/// The median (the upper one of an even count; NaN for none).
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The sign test on paired figures `(ours, theirs)`: how many pairs have ours slower, and the
/// one-sided p-value of that many or more if neither side were slower (each pair a fair coin;
/// exact ties are dropped).
pub fn sign_test(pairs: &[[f64; 2]]) -> (usize, usize, f64) {
    let slower = pairs.iter().filter(|[ours, theirs]| ours > theirs).count();
    let n = pairs.iter().filter(|[ours, theirs]| ours != theirs).count();
    // P(X >= slower) for X ~ Binomial(n, 1/2), summed in logs so large n cannot overflow.
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let p = (slower..=n)
        .map(|k| (ln_choose(n, k) + ln_half_n).exp())
        .sum::<f64>()
        .min(1.0);
    (slower, n, p)
}

fn ln_choose(n: usize, k: usize) -> f64 {
    (1..=k).map(|i| ((n - k + i) as f64 / i as f64).ln()).sum()
}

/// The Mann-Whitney U test: the one-sided p-value that `ours` is no slower than `theirs`
/// (large `ours` values are slow), by the normal approximation, which is close for the
/// hundreds of samples the bench takes. Tied values share their mean rank.
pub fn mann_whitney_slower(ours: &[f64], theirs: &[f64]) -> f64 {
    let (n1, n2) = (ours.len() as f64, theirs.len() as f64);
    if ours.is_empty() || theirs.is_empty() {
        return f64::NAN;
    }
    let mut all: Vec<(f64, bool)> = ours
        .iter()
        .map(|v| (*v, true))
        .chain(theirs.iter().map(|v| (*v, false)))
        .collect();
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < all.len() {
        let mut j = i;
        while j + 1 < all.len() && all[j + 1].0 == all[i].0 {
            j += 1;
        }
        // Ranks i+1..=j+1 share their mean.
        let rank = (i + j + 2) as f64 / 2.0;
        rank_sum += rank * all[i..=j].iter().filter(|(_, o)| *o).count() as f64;
        i = j + 1;
    }
    let u = rank_sum - n1 * (n1 + 1.0) / 2.0;
    let mean = n1 * n2 / 2.0;
    let sd = (n1 * n2 * (n1 + n2 + 1.0) / 12.0).sqrt();
    upper_tail((u - mean) / sd)
}

/// P(Z > z) for a standard normal Z (Abramowitz and Stegun 7.1.26, error below 1.5e-7).
fn upper_tail(z: f64) -> f64 {
    let x = z.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-x * x).exp();
    if z >= 0.0 {
        erfc / 2.0
    } else {
        1.0 - erfc / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_test_matches_the_binomial_tail() {
        // 8 of 10 slower: P(X >= 8) = (45 + 10 + 1) / 1024.
        let pairs: Vec<[f64; 2]> = (0..10)
            .map(|i| if i < 8 { [2.0, 1.0] } else { [1.0, 2.0] })
            .collect();
        let (slower, n, p) = sign_test(&pairs);
        assert_eq!((slower, n), (8, 10));
        assert!((p - 56.0 / 1024.0).abs() < 1e-12, "{p}");
        // None slower: certain.
        assert_eq!(sign_test(&[[1.0, 2.0]; 5]).2, 1.0);
        // Ties are dropped.
        assert_eq!(sign_test(&[[1.0, 1.0], [2.0, 1.0]]).1, 1);
    }

    #[test]
    fn mann_whitney_tells_a_shift_from_noise() {
        let base: Vec<f64> = (0..200).map(|i| 10.0 + (i % 17) as f64 * 0.01).collect();
        let shifted: Vec<f64> = base.iter().map(|v| v + 0.05).collect();
        assert!(mann_whitney_slower(&shifted, &base) < 1e-6);
        assert!(mann_whitney_slower(&base, &shifted) > 1.0 - 1e-6);
        let p = mann_whitney_slower(&base, &base);
        assert!((p - 0.5).abs() < 1e-9, "{p}");
    }

    #[test]
    fn the_normal_tail_is_accurate() {
        assert!((upper_tail(0.0) - 0.5).abs() < 1e-7);
        assert!((upper_tail(1.959_964) - 0.025).abs() < 1e-6);
        assert!((upper_tail(-1.644_854) - 0.95).abs() < 1e-6);
    }
}
