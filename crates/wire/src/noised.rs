//! Noised scopes: the grammar of `noised:<field>` and the differentially private mechanisms that answer them.
//!
//! A **noised scope** `noised:<field>` (for example `noised:interests.topics`) answers with a randomised
//! version of one built-in field, so a retailer can learn *statistics over many customers* while any single
//! answer says little about this owner. Each answer costs ε (epsilon, the privacy loss) from the retailer's
//! budget, which the owner's vault keeps (`locket_grants::dp`).
//!
//! Mechanisms, by field type (all ε-differentially private per answer, "local" model: the noise is added
//! on the owner's machine before anything leaves it):
//!
//! | field type   | mechanism                                                              | answer |
//! |--------------|------------------------------------------------------------------------|--------|
//! | `multi_enum` | randomised response on each option bit, with ε/k per bit (k options)   | `{"options": [..], "bits": [0, 1, ..]}` |
//! | `bool`       | randomised response on the bit                                          | `{"bit": 0 or 1}` |
//! | `enum`       | k-ary randomised response (truth with e^ε/(e^ε+k−1), else another option) | `{"options": [..], "value": ".."}` |
//! | `number`     | Laplace noise with scale (max − min)/ε after clamping to the field's bounds | `{"value": 12.34, "min": .., "max": ..}` |
//!
//! Every answer also carries `mechanism`, `epsilon` and `p_keep` (or `scale`) so the retailer can debias
//! aggregates: with `p = p_keep`, the share of customers holding an option is estimated by
//! `(mean_bit − (1 − p)) / (2p − 1)` ([`rr_estimate`]).
//!
//! A missing value is answered as if it were the empty set (`multi_enum`), `false` (`bool`), a uniformly
//! random option (`enum`, which is ε-indistinguishable from any real option) or the middle of the bounds
//! (`number`), so the answer never reveals *whether* the owner filled the field in.
//!
//! Noise comes from the operating system's CSPRNG (`ring::rand::SystemRandom`). Laplace outputs are rounded
//! to two decimals; this is the textbook mechanism, not a floating-point-hardened ("snapping") one, which is
//! adequate for the small, bounded fields of the catalog.

use crate::catalog::{self, FieldDef, FieldType};
use crate::derived::DerivedError;
use crate::purpose::Purpose;
use ring::rand::SecureRandom;
use serde::Serialize;
use serde_json::{json, Value};

/// The prefix of noised scopes (`noised:interests.topics`).
pub const NOISED_PREFIX: &str = "noised";

/// Largest ε accepted for one answer (beyond this the noise protects next to nothing).
pub const MAX_EPSILON_PER_ANSWER: f64 = 5.0;

/// A noised answer could not be produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum NoiseError {
    /// ε out of range.
    #[error("epsilon must be a number above 0 and at most {MAX_EPSILON_PER_ANSWER}, not {0}")]
    InvalidEpsilon(f64),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed; no noised answer was produced")]
    Random,
}

impl NoiseError {
    /// Stable snake_case code.
    pub fn code(&self) -> &'static str {
        match self {
            NoiseError::InvalidEpsilon(_) => "epsilon_invalid",
            NoiseError::Random => "random_failed",
        }
    }
}

/// How a noised scope randomises its field.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "mechanism", rename_all = "snake_case")]
pub enum Mechanism {
    /// Randomised response on each option of a `multi_enum` field.
    RandomizedResponseVector {
        /// The options, in catalog order.
        options: Vec<String>,
    },
    /// Randomised response on a `bool` field.
    RandomizedResponseBit,
    /// k-ary randomised response on an `enum` field.
    KaryRandomizedResponse {
        /// The options, in catalog order.
        options: Vec<String>,
    },
    /// Laplace noise on a bounded `number` field.
    Laplace {
        /// Lower bound (values are clamped to it).
        min: f64,
        /// Upper bound.
        max: f64,
    },
}

/// A parsed noised scope.
#[derive(Debug, Clone, PartialEq)]
pub struct NoisedScope {
    /// The built-in field it randomises.
    pub field: String,
    /// The field's label.
    pub field_label: String,
    /// The mechanism for its type.
    pub mechanism: Mechanism,
}

fn mechanism_for(def: &FieldDef) -> Option<Mechanism> {
    let options = || def.options.iter().map(|o| o.value.clone()).collect::<Vec<_>>();
    match def.field_type {
        FieldType::MultiEnum if !def.options.is_empty() => {
            Some(Mechanism::RandomizedResponseVector { options: options() })
        }
        FieldType::Enum if def.options.len() >= 2 => Some(Mechanism::KaryRandomizedResponse { options: options() }),
        FieldType::Bool => Some(Mechanism::RandomizedResponseBit),
        FieldType::Number => match (def.rules.min, def.rules.max) {
            (Some(min), Some(max)) if max > min => Some(Mechanism::Laplace { min, max }),
            _ => None,
        },
        _ => None,
    }
}

impl NoisedScope {
    /// Whether a field can be answered noised (built-in `multi_enum`, `enum`, `bool`, or bounded `number`).
    pub fn supports(def: &FieldDef) -> bool {
        def.builtin && mechanism_for(def).is_some()
    }

    /// Parses `noised:<field>`.
    pub fn parse(scope: &str) -> Result<Self, DerivedError> {
        let field = scope
            .strip_prefix(NOISED_PREFIX)
            .and_then(|r| r.strip_prefix(':'))
            .ok_or_else(|| DerivedError::UnknownScope(scope.to_owned()))?;
        let bad = |rule: &str| DerivedError::BadArgument {
            scope: scope.to_owned(),
            rule: rule.to_owned(),
        };
        let def = catalog::builtin(field)
            .ok_or_else(|| bad("the argument must be a built-in field key, e.g. noised:interests.topics"))?;
        let mechanism = mechanism_for(def).ok_or_else(|| {
            bad("only multiple-choice, single-choice, yes/no and bounded number fields can be answered noised")
        })?;
        Ok(Self {
            field: def.key.clone(),
            field_label: def.label.clone(),
            mechanism,
        })
    }

    /// The scope string.
    pub fn scope(&self) -> String {
        format!("{NOISED_PREFIX}:{}", self.field)
    }

    /// Owner-facing label.
    pub fn label(&self) -> String {
        format!("{} (noised, for statistics)", self.field_label)
    }

    /// What the retailer learns, in plain words.
    pub fn explanation(&self) -> String {
        format!(
            "The shop gets a randomly altered version of your {} that is useful only for statistics over many \
             customers; any single answer may well be wrong, and each one uses up part of the shop's privacy budget.",
            self.field_label.to_lowercase()
        )
    }

    /// Noised scopes exist for statistics: they may be requested for `analytics` only.
    pub fn allowed_for(purpose: Purpose) -> bool {
        purpose == Purpose::Analytics
    }

    /// Randomise `value` (the field's current value, `None` if unset) with privacy loss `epsilon`.
    pub fn answer(&self, value: Option<&Value>, epsilon: f64, rng: &dyn SecureRandom) -> Result<Value, NoiseError> {
        check_epsilon(epsilon)?;
        Ok(match &self.mechanism {
            Mechanism::RandomizedResponseVector { options } => {
                let held: Vec<&str> = value
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                let per_bit = epsilon / options.len() as f64;
                let p = keep_probability(per_bit);
                let mut bits = Vec::with_capacity(options.len());
                for o in options {
                    bits.push(u8::from(randomized_bit(held.contains(&o.as_str()), p, rng)?));
                }
                json!({
                    "mechanism": "randomized_response",
                    "epsilon": epsilon,
                    "epsilon_per_bit": per_bit,
                    "p_keep": p,
                    "options": options,
                    "bits": bits,
                })
            }
            Mechanism::RandomizedResponseBit => {
                let truth = value.and_then(Value::as_bool).unwrap_or(false);
                let p = keep_probability(epsilon);
                json!({
                    "mechanism": "randomized_response",
                    "epsilon": epsilon,
                    "p_keep": p,
                    "bit": u8::from(randomized_bit(truth, p, rng)?),
                })
            }
            Mechanism::KaryRandomizedResponse { options } => {
                let k = options.len();
                let e = epsilon.exp();
                let p = e / (e + k as f64 - 1.0);
                let truth = value
                    .and_then(Value::as_str)
                    .and_then(|v| options.iter().position(|o| o == v));
                let idx = match truth {
                    None => uniform_index(k, rng)?,
                    Some(t) if uniform(rng)? < p => t,
                    Some(t) => {
                        // One of the other k−1 options, uniformly.
                        let other = uniform_index(k - 1, rng)?;
                        if other >= t {
                            other + 1
                        } else {
                            other
                        }
                    }
                };
                json!({
                    "mechanism": "k_randomized_response",
                    "epsilon": epsilon,
                    "p_keep": p,
                    "options": options,
                    "value": options[idx],
                })
            }
            Mechanism::Laplace { min, max } => {
                let truth = value
                    .and_then(Value::as_f64)
                    .unwrap_or((min + max) / 2.0)
                    .clamp(*min, *max);
                let scale = (max - min) / epsilon;
                let noisy = truth + laplace(scale, rng)?;
                json!({
                    "mechanism": "laplace",
                    "epsilon": epsilon,
                    "scale": scale,
                    "min": min,
                    "max": max,
                    "value": (noisy * 100.0).round() / 100.0,
                })
            }
        })
    }
}

/// Checks that `epsilon` is a usable privacy loss for one answer: above 0, at most
/// [`MAX_EPSILON_PER_ANSWER`].
pub fn check_epsilon(epsilon: f64) -> Result<(), NoiseError> {
    if epsilon.is_finite() && epsilon > 0.0 && epsilon <= MAX_EPSILON_PER_ANSWER {
        Ok(())
    } else {
        Err(NoiseError::InvalidEpsilon(epsilon))
    }
}

/// Probability that randomised response with privacy loss `epsilon` reports the true bit:
/// e^ε / (1 + e^ε).
pub fn keep_probability(epsilon: f64) -> f64 {
    let e = epsilon.exp();
    e / (1.0 + e)
}

/// Unbiased estimate of the true share of 1-bits from the observed mean of randomised-response bits that
/// were kept with probability `p_keep` (> 0.5).
pub fn rr_estimate(observed_mean: f64, p_keep: f64) -> f64 {
    (observed_mean - (1.0 - p_keep)) / (2.0 * p_keep - 1.0)
}

/// A uniform number in [0, 1) with 53 random bits from `rng`.
fn uniform(rng: &dyn SecureRandom) -> Result<f64, NoiseError> {
    let mut b = [0u8; 8];
    rng.fill(&mut b).map_err(|_| NoiseError::Random)?;
    Ok((u64::from_le_bytes(b) >> 11) as f64 / (1u64 << 53) as f64)
}

/// A uniform index in 0..n (rejection sampling, no modulo bias).
fn uniform_index(n: usize, rng: &dyn SecureRandom) -> Result<usize, NoiseError> {
    let n = n.max(1) as u64;
    let zone = u64::MAX - (u64::MAX % n);
    loop {
        let mut b = [0u8; 8];
        rng.fill(&mut b).map_err(|_| NoiseError::Random)?;
        let x = u64::from_le_bytes(b);
        if x < zone {
            return Ok((x % n) as usize);
        }
    }
}

fn randomized_bit(truth: bool, p_keep: f64, rng: &dyn SecureRandom) -> Result<bool, NoiseError> {
    Ok(if uniform(rng)? < p_keep { truth } else { !truth })
}

/// A Laplace(0, `scale`) sample: the difference of two exponential samples.
fn laplace(scale: f64, rng: &dyn SecureRandom) -> Result<f64, NoiseError> {
    // 1 − U lies in (0, 1], so the logarithm is finite.
    let e1 = -(1.0 - uniform(rng)?).ln();
    let e2 = -(1.0 - uniform(rng)?).ln();
    Ok(scale * (e1 - e2))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    #[test]
    fn parse_and_support() {
        let n = NoisedScope::parse("noised:interests.topics").unwrap();
        assert!(matches!(n.mechanism, Mechanism::RandomizedResponseVector { ref options } if options.len() == 18));
        assert_eq!(n.scope(), "noised:interests.topics");
        assert!(matches!(
            NoisedScope::parse("noised:household.size").unwrap().mechanism,
            Mechanism::Laplace { min, max } if min == 1.0 && max == 30.0
        ));
        assert!(matches!(
            NoisedScope::parse("noised:channels.opt_in_email").unwrap().mechanism,
            Mechanism::RandomizedResponseBit
        ));
        assert!(matches!(
            NoisedScope::parse("noised:style.fit").unwrap().mechanism,
            Mechanism::KaryRandomizedResponse { .. }
        ));
        for bad in [
            "noised:contact.email",
            "noised:nope.x",
            "noised:",
            "noised:budget.range",
        ] {
            assert_eq!(
                NoisedScope::parse(bad).unwrap_err().code(),
                "scope_argument_invalid",
                "{bad}"
            );
        }
        assert!(NoisedScope::allowed_for(Purpose::Analytics));
        assert!(!NoisedScope::allowed_for(Purpose::MarketingEmail));
    }

    #[test]
    fn epsilon_is_checked() {
        let rng = SystemRandom::new();
        let n = NoisedScope::parse("noised:channels.opt_in_email").unwrap();
        for eps in [0.0, -1.0, f64::NAN, f64::INFINITY, 5.5] {
            assert_eq!(n.answer(None, eps, &rng).unwrap_err().code(), "epsilon_invalid");
        }
    }

    #[test]
    fn randomized_response_bit_keeps_the_truth_at_the_expected_rate() {
        // ε = ln 3 → p_keep = 0.75. 4000 samples: standard deviation of the mean ≈ 0.007; bounds are ±0.05.
        let rng = SystemRandom::new();
        let n = NoisedScope::parse("noised:channels.opt_in_email").unwrap();
        let eps = 3f64.ln();
        let samples = 4000;
        let mut ones = 0;
        for _ in 0..samples {
            let a = n.answer(Some(&json!(true)), eps, &rng).unwrap();
            assert!((a["p_keep"].as_f64().unwrap() - 0.75).abs() < 1e-9);
            ones += a["bit"].as_u64().unwrap();
        }
        let mean = ones as f64 / samples as f64;
        assert!((mean - 0.75).abs() < 0.05, "mean {mean}");
        // Debiasing recovers the truth (1.0) within loose bounds.
        assert!((rr_estimate(mean, 0.75) - 1.0).abs() < 0.1);
    }

    #[test]
    fn randomized_response_vector_estimates_shares_over_a_population() {
        // 3000 simulated owners with ε = 18 over 18 options (ε = 1 per bit, p_keep ≈ 0.731). Everyone likes
        // "fashion", nobody likes "gaming". Std of the estimate ≈ 0.02; bounds are ±0.15.
        let rng = SystemRandom::new();
        let n = NoisedScope::parse("noised:interests.topics").unwrap();
        let Mechanism::RandomizedResponseVector { options } = &n.mechanism else {
            panic!()
        };
        let fashion = options.iter().position(|o| o == "fashion").unwrap();
        let gaming = options.iter().position(|o| o == "gaming").unwrap();
        let samples = 3000;
        let (mut f, mut g) = (0u64, 0u64);
        let mut p = 0.0;
        for _ in 0..samples {
            let a = n.answer(Some(&json!(["fashion", "books"])), 5.0, &rng).unwrap();
            // ε is capped at 5 per answer; per bit that is 5/18.
            p = a["p_keep"].as_f64().unwrap();
            let bits = a["bits"].as_array().unwrap();
            assert_eq!(bits.len(), 18);
            f += bits[fashion].as_u64().unwrap();
            g += bits[gaming].as_u64().unwrap();
        }
        assert!((p - keep_probability(5.0 / 18.0)).abs() < 1e-12);
        let est_f = rr_estimate(f as f64 / samples as f64, p);
        let est_g = rr_estimate(g as f64 / samples as f64, p);
        assert!((est_f - 1.0).abs() < 0.25, "fashion {est_f}");
        assert!(est_g.abs() < 0.25, "gaming {est_g}");
    }

    #[test]
    fn laplace_noise_is_centred_with_the_right_spread() {
        // household.size in [1, 30], ε = 1 → scale 29, variance 2·29² ≈ 1682, sd ≈ 41. 4000 samples: the
        // mean's sd ≈ 0.65 (bound ±4), mean absolute deviation ≈ 29 (bound 24..34).
        let rng = SystemRandom::new();
        let n = NoisedScope::parse("noised:household.size").unwrap();
        let samples = 4000;
        let (mut sum, mut abs) = (0.0, 0.0);
        for _ in 0..samples {
            let a = n.answer(Some(&json!(4)), 1.0, &rng).unwrap();
            assert_eq!(a["scale"].as_f64().unwrap(), 29.0);
            let v = a["value"].as_f64().unwrap();
            sum += v;
            abs += (v - 4.0).abs();
        }
        let mean = sum / samples as f64;
        let mad = abs / samples as f64;
        assert!((mean - 4.0).abs() < 4.0, "mean {mean}");
        assert!((24.0..34.0).contains(&mad), "mad {mad}");
        // Values outside the bounds are clamped first (a 99 is treated as 30).
        let mut s = 0.0;
        for _ in 0..samples {
            s += n.answer(Some(&json!(99)), 1.0, &rng).unwrap()["value"]
                .as_f64()
                .unwrap();
        }
        assert!((s / samples as f64 - 30.0).abs() < 4.0);
    }

    #[test]
    fn k_ary_response_and_missing_values() {
        let rng = SystemRandom::new();
        let n = NoisedScope::parse("noised:style.fit").unwrap(); // 4 options
        let eps: f64 = 2.0;
        let p = eps.exp() / (eps.exp() + 3.0);
        let samples = 3000;
        let mut kept = 0;
        for _ in 0..samples {
            let a = n.answer(Some(&json!("slim")), eps, &rng).unwrap();
            kept += u32::from(a["value"] == "slim");
        }
        let share = f64::from(kept) / samples as f64;
        assert!((share - p).abs() < 0.06, "share {share} vs {p}");
        // Missing: uniform over the 4 options.
        let mut slim = 0;
        for _ in 0..samples {
            slim += u32::from(n.answer(None, eps, &rng).unwrap()["value"] == "slim");
        }
        assert!((f64::from(slim) / samples as f64 - 0.25).abs() < 0.06);
        // Missing multi-enum answers like the empty set; missing number like the midpoint.
        let v = NoisedScope::parse("noised:interests.topics").unwrap();
        assert_eq!(v.answer(None, 1.0, &rng).unwrap()["bits"].as_array().unwrap().len(), 18);
        let h = NoisedScope::parse("noised:household.size").unwrap();
        assert!(h.answer(None, 1.0, &rng).unwrap()["value"].is_number());
    }

    #[test]
    fn uniform_index_covers_the_range() {
        let rng = SystemRandom::new();
        let mut seen = [0u32; 5];
        for _ in 0..1000 {
            seen[uniform_index(5, &rng).unwrap()] += 1;
        }
        assert!(seen.iter().all(|c| *c > 100), "{seen:?}");
    }
}
