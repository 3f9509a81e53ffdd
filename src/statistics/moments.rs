//! [`Moments`]: count, mean and standard deviation of a stream of numbers in
//! constant memory, numerically sane and deterministic for a given order.
//!
//! The mean is a compensated (Neumaier) sum divided by the count: exact for
//! integers below 2^53 and correct to about one ulp otherwise. The variance
//! comes from Welford's update, which does not lose precision when the
//! values sit far from zero. Both depend on the order of the values, so the
//! statistics pass feeds them in sample-id order.

/// Running count, compensated sum and Welford sums of squares.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Moments {
    count: u64,
    sum: f64,
    compensation: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    /// Adds one finite value.
    pub(crate) fn add(&mut self, value: f64) {
        self.count += 1;
        let sum = self.sum + value;
        self.compensation += if self.sum.abs() >= value.abs() {
            (self.sum - sum) + value
        } else {
            (value - sum) + self.sum
        };
        self.sum = sum;
        let delta = value - self.mean;
        self.mean += delta / self.count as f64;
        self.m2 += delta * (value - self.mean);
    }

    /// Number of values.
    pub(crate) fn count(&self) -> u64 {
        self.count
    }

    /// The compensated sum.
    pub(crate) fn sum(&self) -> f64 {
        self.sum + self.compensation
    }

    /// The arithmetic mean; `None` without values.
    pub(crate) fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.sum + self.compensation) / self.count as f64)
    }

    /// The population standard deviation (divides by the count, numpy's
    /// `ddof=0`); `None` without values.
    pub(crate) fn std(&self) -> Option<f64> {
        (self.count > 0).then(|| (self.m2.max(0.0) / self.count as f64).sqrt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(values: &[f64]) -> Moments {
        let mut moments = Moments::default();
        values.iter().for_each(|&v| moments.add(v));
        moments
    }

    #[test]
    fn mean_and_std_on_known_data() {
        let m = of(&[7.0, 3.0, 10.0, 1.0, 5.0, 9.0, 2.0, 8.0, 4.0, 6.0]);
        assert_eq!(m.mean(), Some(5.5));
        assert!((m.std().unwrap() - 8.25f64.sqrt()).abs() < 1e-15);
        assert_eq!(Moments::default().mean(), None);
        // Far from zero: a naive sum of squares would lose every digit.
        let m = of(&[1e9 + 4.0, 1e9 + 7.0, 1e9 + 13.0, 1e9 + 16.0]);
        assert_eq!(m.mean(), Some(1e9 + 10.0));
        assert!((m.std().unwrap() - 22.5f64.sqrt()).abs() < 1e-9);
        // Compensated: 0.1 ten times is 1.
        assert_eq!(of(&[0.1; 10]).mean(), Some(0.1));
        let m = of(&[1e16, 1.0, -1e16, 1.0]);
        assert_eq!(m.mean(), Some(0.5));
    }
}
