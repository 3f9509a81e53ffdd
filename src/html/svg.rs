//! The small inline SVG charts of the page: a histogram beside each numeric
//! statistic, drawn from the same bins as its `plots/hist_<stat>` chart
//! ([`crate::plot::histogram_bins`]). One `<path>` per chart, so a chart
//! costs a few hundred bytes whatever the number of samples.

use std::fmt::Write as _;

use super::escape;

/// Width of a small histogram, in CSS pixels.
pub(crate) const SPARK_WIDTH: u32 = 160;
/// Height of a small histogram, in CSS pixels.
pub(crate) const SPARK_HEIGHT: u32 = 32;

/// A small histogram of `bins` (`(from, to, count)`, ascending); `label`
/// becomes its accessible name and tooltip.
pub(crate) fn histogram(bins: &[(f64, f64, u64)], label: &str) -> String {
    let (width, height) = (f64::from(SPARK_WIDTH), f64::from(SPARK_HEIGHT));
    let top = bins.iter().map(|b| b.2).max().unwrap_or(0);
    let mut path = String::new();
    if top > 0 && !bins.is_empty() {
        let bar = width / bins.len() as f64;
        for (at, &(_, _, count)) in bins.iter().enumerate() {
            if count == 0 {
                continue;
            }
            // A bin with any sample is at least one pixel tall.
            let h = (count as f64 / top as f64 * (height - 1.0)).max(1.0);
            let x = at as f64 * bar;
            let w = (bar - gap(bar)).max(0.5);
            let _ = write!(
                path,
                "M{}{}h{}v{}h-{}z",
                coordinate(x),
                coordinate_signed(height - h),
                coordinate(w),
                coordinate(h),
                coordinate(w)
            );
        }
    }
    let label = escape::html(label);
    format!(
        "<svg class=\"spark\" width=\"{SPARK_WIDTH}\" height=\"{SPARK_HEIGHT}\" \
         viewBox=\"0 0 {SPARK_WIDTH} {SPARK_HEIGHT}\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title><path d=\"{path}\"/></svg>"
    )
}

/// Space between bars: none when bars are thinner than 3 px.
fn gap(bar: f64) -> f64 {
    if bar >= 3.0 {
        1.0
    } else {
        0.0
    }
}

/// A coordinate with at most one decimal.
fn coordinate(value: f64) -> String {
    let text = format!("{:.1}", value);
    text.strip_suffix(".0").map(str::to_owned).unwrap_or(text)
}

/// A coordinate after a previous one in a path: separated by a space.
fn coordinate_signed(value: f64) -> String {
    format!(" {}", coordinate(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_tallest_and_labels_are_escaped() {
        let svg = histogram(&[(0.0, 1.0, 2), (1.0, 2.0, 0), (2.0, 3.0, 4)], "a<b");
        assert!(svg.starts_with("<svg class=\"spark\""), "{svg}");
        assert!(svg.contains("<title>a&lt;b</title>"), "{svg}");
        // Three bins of 53.3 px: the first half as tall as the third, the
        // empty one not drawn.
        assert!(svg.contains("M0 16.5h52.3v15.5h-52.3z"), "{svg}");
        assert!(svg.contains("M106.7 1h52.3v31h-52.3z"), "{svg}");
        assert_eq!(svg.matches('M').count(), 2, "{svg}");
        assert!(histogram(&[], "x").contains("<path d=\"\"/>"));
    }
}
