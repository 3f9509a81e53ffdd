//! The config's top-level `plots:`: which charts a user asked for, and the
//! checks that make a bad entry a config error at load time. The drawing
//! lives in [`crate::plot`]; this is only the schema.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// File name (without extension) of the automatic wall-time chart.
pub(crate) const TIMINGS_CHART: &str = "timings";
/// File name of the automatic failures chart.
pub(crate) const FAILURES_CHART: &str = "failures";
/// Prefix of the automatic per-statistic histograms.
pub(crate) const HISTOGRAM_PREFIX: &str = "hist_";

/// Largest `bins` a histogram spec may ask for.
pub(crate) const MAX_BINS: usize = 1000;

/// The kind of a configured chart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum PlotKind {
    /// Histogram of one statistic (`stat`, optional `bins`).
    Histogram,
    /// One dot per complete sample at (`x`, `y`).
    Scatter,
    /// `y` against `x`, joined in increasing `x`.
    Line,
    /// Box plot of one statistic (`stat`) or several side by side (`stats`).
    Box,
}

impl PlotKind {
    fn as_str(self) -> &'static str {
        match self {
            PlotKind::Histogram => "histogram",
            PlotKind::Scatter => "scatter",
            PlotKind::Line => "line",
            PlotKind::Box => "box",
        }
    }
}

/// One chart of the config's top-level `plots:` list.
///
/// Statistic names are full: `block.stat`, e.g. `render.objects`; the `x` of
/// a scatter or line chart may also be `sample`, the sample id.
///
/// ```yaml
/// plots:
///   - type: scatter
///     x: scene.objects
///     y: render.seconds
///     title: Render time by object count
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PlotSpec {
    /// `histogram`, `scatter`, `line` or `box`.
    #[serde(rename = "type")]
    pub kind: PlotKind,
    /// The statistic of a histogram or of a single box.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stat: Option<String>,
    /// The x statistic of a scatter or line chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// The y statistic of a scatter or line chart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// The statistics of a box chart with several boxes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stats: Option<Vec<String>>,
    /// The chart's title.
    pub title: String,
    /// Label of the x axis (default: the statistic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x_label: Option<String>,
    /// Label of the y axis (default: the statistic, or "samples").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y_label: Option<String>,
    /// Base name of the files (default: `<type>_<stats>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Number of bins of a histogram (default: from the number of values).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bins: Option<usize>,
}

impl PlotSpec {
    /// Checks that the fields fit the kind; `number` is how the error names
    /// the plot (`plot 2: scatter needs x and y`).
    pub(crate) fn validate(&self, number: usize) -> Result<(), String> {
        let kind = self.kind.as_str();
        let fail = |problem: String| Err(format!("plot {number}: {problem}"));
        let unused = |field: &str, present: bool| {
            if present {
                Err(format!("plot {number}: {kind} does not use `{field}`"))
            } else {
                Ok(())
            }
        };
        if self.title.trim().is_empty() {
            return fail("title is empty".to_owned());
        }
        match self.kind {
            PlotKind::Histogram => {
                if self.stat.is_none() {
                    return fail("histogram needs stat".to_owned());
                }
                unused("x", self.x.is_some())?;
                unused("y", self.y.is_some())?;
                unused("stats", self.stats.is_some())?;
            }
            PlotKind::Scatter | PlotKind::Line => {
                if self.x.is_none() || self.y.is_none() {
                    return fail(format!("{kind} needs x and y"));
                }
                unused("stat", self.stat.is_some())?;
                unused("stats", self.stats.is_some())?;
                unused("bins", self.bins.is_some())?;
            }
            PlotKind::Box => {
                match (&self.stat, &self.stats) {
                    (None, None) => return fail("box needs stat or stats".to_owned()),
                    (Some(_), Some(_)) => {
                        return fail("box takes stat or stats, not both".to_owned())
                    }
                    (None, Some(stats)) if stats.is_empty() => {
                        return fail("box needs at least one of stats".to_owned())
                    }
                    _ => {}
                }
                unused("x", self.x.is_some())?;
                unused("y", self.y.is_some())?;
                unused("bins", self.bins.is_some())?;
            }
        }
        let names = [&self.stat, &self.x, &self.y];
        let listed = self.stats.iter().flatten();
        if names
            .into_iter()
            .flatten()
            .chain(listed)
            .any(|s| s.trim().is_empty())
        {
            return fail("a statistic name is empty".to_owned());
        }
        if let Some(bins) = self.bins {
            if bins == 0 || bins > MAX_BINS {
                return fail(format!("bins must be 1 to {MAX_BINS}, not {bins}"));
            }
        }
        if let Some(name) = &self.name {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
            if name.is_empty() || name.starts_with('.') || !name.chars().all(allowed) {
                return fail(format!(
                    "name '{name}' must be letters, digits, '.', '_' or '-', not starting with '.'"
                ));
            }
        }
        Ok(())
    }

    /// Base name of the chart's files (without `.png`/`.svg`).
    pub(crate) fn file_name(&self) -> String {
        if let Some(name) = &self.name {
            return name.clone();
        }
        let subject = match self.kind {
            PlotKind::Histogram => self.stat.clone().unwrap_or_default(),
            PlotKind::Scatter | PlotKind::Line => format!(
                "{}_vs_{}",
                self.y.as_deref().unwrap_or_default(),
                self.x.as_deref().unwrap_or_default()
            ),
            PlotKind::Box => match (&self.stats, &self.stat) {
                (Some(stats), _) => stats.join("_"),
                (None, stat) => stat.clone().unwrap_or_default(),
            },
        };
        sanitize(&format!("{}_{subject}", self.kind.as_str()))
    }
}

/// Validates every spec ([`PlotSpec::validate`], numbered from 1) and that no
/// two charts write the same files.
pub(crate) fn validate_plots(specs: &[PlotSpec]) -> Result<(), String> {
    let mut names: BTreeMap<String, usize> = BTreeMap::new();
    for (at, spec) in specs.iter().enumerate() {
        let number = at + 1;
        spec.validate(number)?;
        let name = spec.file_name();
        if name == TIMINGS_CHART || name == FAILURES_CHART || name.starts_with(HISTOGRAM_PREFIX) {
            return Err(format!(
                "plot {number}: name '{name}' is taken by a built-in chart (timings, failures, hist_*)"
            ));
        }
        if let Some(first) = names.insert(name.clone(), number) {
            return Err(format!(
                "plot {number}: writes '{name}' like plot {first}; set `name`"
            ));
        }
    }
    Ok(())
}

/// The `(x, y)` pairs that the scatter and line specs need: pass each to
/// [`Aggregator::track_pair`] before aggregating.
pub(crate) fn pairs_needed(specs: &[PlotSpec]) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for spec in specs {
        if let (PlotKind::Scatter | PlotKind::Line, Some(x), Some(y)) =
            (spec.kind, &spec.x, &spec.y)
        {
            let pair = (x.clone(), y.clone());
            if !pairs.contains(&pair) {
                pairs.push(pair);
            }
        }
    }
    pairs
}

/// A file-name-safe form: anything but letters, digits, `.`, `_`, `-` becomes `_`.
pub(crate) fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The statistics whose distribution a config chart draws (a histogram or
/// a box of it): they get no `hist_<stat>` chart of their own. Scatter and
/// line charts show a relation, not a distribution, so they do not count.
pub(crate) fn distributions_drawn(specs: &[PlotSpec]) -> std::collections::BTreeSet<&str> {
    specs
        .iter()
        .filter(|spec| matches!(spec.kind, PlotKind::Histogram | PlotKind::Box))
        .flat_map(|spec| spec.stat.iter().chain(spec.stats.iter().flatten()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> PlotSpec {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn specs_are_validated_with_one_line_errors() {
        let good = spec("{type: scatter, x: scene.objects, y: render.seconds, title: T}");
        let no_y = spec("{type: scatter, x: scene.objects, title: T}");
        let error = validate_plots(&[good.clone(), no_y]).unwrap_err();
        assert_eq!(error, "plot 2: scatter needs x and y");
        let cases = [
            ("{type: histogram, title: T}", "plot 1: histogram needs stat"),
            ("{type: histogram, stat: a.b, x: a.c, title: T}", "plot 1: histogram does not use `x`"),
            ("{type: histogram, stat: a.b, bins: 0, title: T}", "plot 1: bins must be 1 to 1000, not 0"),
            ("{type: box, title: T}", "plot 1: box needs stat or stats"),
            ("{type: box, stats: [], title: T}", "plot 1: box needs at least one of stats"),
            ("{type: line, x: sample, y: a.b, bins: 3, title: T}", "plot 1: line does not use `bins`"),
            ("{type: line, x: sample, y: a.b, title: ' '}", "plot 1: title is empty"),
            ("{type: box, stat: a.b, title: T, name: ../x}", "plot 1: name '../x' must be letters, digits, '.', '_' or '-', not starting with '.'"),
            ("{type: box, stat: a.b, title: T, name: timings}", "plot 1: name 'timings' is taken by a built-in chart (timings, failures, hist_*)"),
        ];
        for (yaml, expected) in cases {
            assert_eq!(
                validate_plots(&[spec(yaml)]).unwrap_err(),
                expected,
                "{yaml}"
            );
        }
        let twice = validate_plots(&[good.clone(), good.clone()]).unwrap_err();
        assert_eq!(
            twice,
            "plot 2: writes 'scatter_render.seconds_vs_scene.objects' like plot 1; set `name`"
        );
        let unknown = serde_yaml::from_str::<PlotSpec>("{type: pie, stat: a, title: T}");
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown variant `pie`"));
        let typo = serde_yaml::from_str::<PlotSpec>("{type: box, stat: a, titel: T}");
        assert!(typo
            .unwrap_err()
            .to_string()
            .contains("unknown field `titel`"));
        let line = spec("{type: line, x: sample, y: a.b, title: T}");
        assert_eq!(
            pairs_needed(&[good.clone(), line, good]),
            [
                ("scene.objects".to_owned(), "render.seconds".to_owned()),
                ("sample".to_owned(), "a.b".to_owned())
            ]
        );
    }
}
