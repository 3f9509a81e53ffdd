//! Renders a [`Report`] as one HTML page: inline CSS, inline SVG, images as
//! `data:` URIs, and a few lines of inline JavaScript that sort tables when
//! a header is clicked (the page reads the same without them). Every string
//! from disk goes through [`escape::html`].

use std::fmt::Write as _;

use super::escape::{self, html as e};
use super::{svg, Chart, Report, TileState, RANGES_SHOWN, TEXT_VALUES};
use crate::failures::REJECTED_PREFIX;
use crate::ranges::SampleRange;
use crate::statistics::summary::NumberSummary;

/// Characters of a params or command cell before it is cut.
const PARAMS_CHARS: usize = 160;
/// Characters of a failure reason before it is cut.
const REASON_CHARS: usize = 240;
/// Characters of a text statistic's value before it is cut.
const VALUE_CHARS: usize = 60;
/// Characters of a reason in a gallery caption.
const CAPTION_CHARS: usize = 60;

const STYLE: &str = r#"
:root{--ink:#1d2430;--muted:#5d6878;--line:#dde2ea;--paper:#fff;--bg:#f4f6f9;--accent:#2f5fa7;
--complete:#2e8b57;--failed:#c0392b;--rejected:#d4880f;--stale:#7d4fa8;--missing:#9aa5b1}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--ink);background:var(--bg)}
.wrap{max-width:1240px;margin:0 auto;padding:0 20px}
header.top{background:#1f2a3a;color:#fff;padding:14px 0 0}
header.top h1{margin:0;font-size:20px;font-weight:600}
header.top .path{color:#b8c4d4;font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:13px;margin-top:2px;word-break:break-all}
nav{display:flex;gap:2px;margin-top:12px;flex-wrap:wrap}
nav a{color:#dfe6ef;text-decoration:none;padding:7px 12px;border-radius:6px 6px 0 0;font-size:13px}
nav a:hover{background:#2d3b50}
section{background:var(--paper);border:1px solid var(--line);border-radius:8px;margin:18px 0;padding:18px 22px}
h2{font-size:18px;margin:0 0 12px}
h3{font-size:15px;margin:20px 0 8px}
h3 .sub{font-weight:400;color:var(--muted);font-size:13px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:14px}
.card{flex:1 1 140px;border:1px solid var(--line);border-radius:8px;padding:10px 14px;border-top:4px solid var(--missing)}
.card .n{font-size:26px;font-weight:650;font-variant-numeric:tabular-nums}
.card .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card.present{border-top-color:var(--accent)}.card.complete{border-top-color:var(--complete)}
.card.failed{border-top-color:var(--failed)}.card.rejected{border-top-color:var(--rejected)}
.card.damaged{border-top-color:var(--stale)}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:#eef1f5;min-width:120px}
.bar span{display:block;height:100%}
.bar.big{height:16px;margin:4px 0 14px}
.s-complete{background:var(--complete)}.s-failed{background:var(--failed)}.s-rejected{background:var(--rejected)}
.s-stale{background:var(--stale)}.s-missing{background:var(--missing)}
.legend{display:flex;gap:14px;flex-wrap:wrap;color:var(--muted);font-size:12px;margin:-6px 0 12px}
.legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px;vertical-align:-1px}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0 0 6px}
dl.facts dt{color:var(--muted)}dl.facts dd{margin:0}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f7f9fb;font-weight:600;color:#3b4757;white-space:nowrap}
table.sortable th{cursor:pointer}table.sortable th:hover{background:#edf1f6}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
tbody tr:hover{background:#fafbfd}
.scroll{overflow-x:auto}
code,pre,.mono{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:12px}
pre{background:#f5f7fa;border:1px solid var(--line);border-radius:6px;padding:10px 12px;overflow-x:auto;margin:6px 0;white-space:pre-wrap;word-break:break-all}
.muted{color:var(--muted)}.small{font-size:12px}
.tag{display:inline-block;padding:0 6px;border-radius:4px;font-size:11px;font-weight:600;color:#fff;vertical-align:1px}
.tag.failed{background:var(--failed)}.tag.rejected{background:var(--rejected)}.tag.complete{background:var(--complete)}
.note{background:#fff8e6;border:1px solid #f0d9a0;border-radius:6px;padding:8px 12px;margin:8px 0}
.ok{color:var(--complete);font-weight:600}
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(340px,1fr));gap:14px}
figure{margin:0}
.charts figure{border:1px solid var(--line);border-radius:6px;padding:6px;background:#fff}
.charts img,.wide img{width:100%;height:auto;display:block}
.wide{max-width:640px}
figcaption{color:var(--muted);font-size:12px;margin-top:4px;overflow-wrap:anywhere}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(140px,1fr));gap:12px}
.gallery figure{border:1px solid var(--line);border-radius:6px;padding:6px;text-align:center;background:#fff}
.gallery figure.failed{border-color:var(--failed)}.gallery figure.rejected{border-color:var(--rejected)}
.gallery img{image-rendering:auto;max-width:100%;height:auto;border-radius:3px;background:#eee}
svg.spark{display:block}svg.spark path{fill:var(--accent)}
td.spark{padding:3px 8px}
td.wrap{word-break:break-all;min-width:220px;max-width:420px}
.values span{display:inline-block;margin:0 10px 2px 0;white-space:nowrap}
.values b{font-weight:600}
footer{color:var(--muted);font-size:12px;text-align:center;padding:4px 0 24px}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('table.sortable').forEach(function(table){
  table.querySelectorAll('th').forEach(function(th){
    th.title='Sort';
    th.addEventListener('click',function(){
      var body=table.tBodies[0],i=th.cellIndex,up=th.getAttribute('data-dir')!=='up';
      table.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir')});
      th.setAttribute('data-dir',up?'up':'down');
      var key=function(row){var c=row.cells[i];var v=c?(c.getAttribute('data-v')||c.textContent):'';
        var n=parseFloat(v.replace(/,/g,''));return isNaN(n)?v.toLowerCase():n};
      var rows=Array.prototype.slice.call(body.rows);
      rows.sort(function(a,b){var x=key(a),y=key(b);
        var r=(typeof x===typeof y)?(x<y?-1:x>y?1:0):(typeof x==='number'?-1:1);return up?r:-r});
      rows.forEach(function(r){body.appendChild(r)});
    });
  });
});
"#;

/// The page.
pub(crate) fn render(report: &Report) -> String {
    let mut page = String::with_capacity(64 * 1024);
    let title = format!("shardgen report: {}", report.dataset);
    let _ = write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body>\n",
        e(&title)
    );
    let _ = write!(
        page,
        "<header class=\"top\"><div class=\"wrap\"><h1>shardgen report</h1>\
         <div class=\"path\">{}</div><nav>\
         <a href=\"#summary\">Summary</a><a href=\"#blocks\">Blocks</a>\
         <a href=\"#statistics\">Statistics</a><a href=\"#gallery\">Gallery</a>\
         <a href=\"#runs\">Runs</a></nav></div></header>\n<main class=\"wrap\">\n",
        e(&report.dataset)
    );
    summary(&mut page, report);
    blocks(&mut page, report);
    statistics(&mut page, report);
    gallery(&mut page, report);
    runs(&mut page, report);
    let _ = write!(
        page,
        "</main><footer>Written {} by {}, shardgen {}. One self-contained file: \
         it loads nothing from the network.</footer>\n<script>{SCRIPT}</script></body></html>\n",
        e(&report.written),
        e(report.written_by),
        env!("CARGO_PKG_VERSION")
    );
    page
}

fn summary(page: &mut String, report: &Report) {
    let a = &report.analysis;
    let samples = &a.samples;
    let errors = samples.failed;
    let damaged: u64 = a.damaged.iter().map(|[s, end]| end - s).sum();
    page.push_str("<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
    let mut card = |class: &str, label: &str, key: &str, value: u64| {
        let _ = write!(
            page,
            "<div class=\"card {class}\"><div class=\"n\" data-count=\"{key}\">{}</div>\
             <div class=\"l\">{label}</div></div>",
            escape::count(value)
        );
    };
    card("present", "samples present", "present", samples.present);
    card("complete", "complete", "complete", samples.complete);
    card("failed", "failed", "failed", errors);
    card("rejected", "rejected", "rejected", samples.rejected);
    card("incomplete", "incomplete", "incomplete", samples.incomplete);
    if damaged > 0 {
        card("damaged", "damaged records", "damaged", damaged);
    }
    page.push_str("</div>");
    state_bar(
        page,
        "bar big",
        &[
            ("complete", samples.complete),
            ("failed", errors),
            ("rejected", samples.rejected),
            ("missing", samples.incomplete),
        ],
    );
    page.push_str(
        "<div class=\"legend\"><span><i class=\"s-complete\"></i>complete</span>\
         <span><i class=\"s-failed\"></i>failed</span><span><i class=\"s-rejected\"></i>rejected \
         by a validation</span><span><i class=\"s-stale\"></i>stale (an earlier pipeline)</span>\
         <span><i class=\"s-missing\"></i>incomplete / missing</span></div>",
    );
    let ranges: Vec<String> = a
        .ranges
        .iter()
        .take(RANGES_SHOWN)
        .map(|&[s, end]| SampleRange::new(s, end).to_string())
        .collect();
    let more = a.ranges.len().saturating_sub(RANGES_SHOWN);
    let seed = report
        .seed
        .map_or_else(|| "unknown".to_owned(), |s| s.to_string());
    let _ = write!(
        page,
        "<dl class=\"facts\"><dt>master seed</dt><dd class=\"mono\" data-seed>{seed}</dd>\
         <dt>samples present</dt><dd class=\"mono\">{}{}</dd>\
         <dt>runs</dt><dd>{} on {} host(s)</dd></dl>",
        if ranges.is_empty() {
            "none".to_owned()
        } else {
            e(&ranges.join(", "))
        },
        if more > 0 {
            format!(" <span class=\"muted\">(+{more} more ranges)</span>")
        } else {
            String::new()
        },
        report.runs.total,
        report.runs.hosts.len()
    );
    if damaged > 0 {
        let _ = write!(
            page,
            "<p class=\"note\">{} sample(s) have a damaged record; they count as incomplete \
             and the next run redoes them.</p>",
            escape::count(damaged)
        );
    }
    pipeline(page, report);
    page.push_str("<h3>To fill the gaps</h3>");
    if a.commands.is_empty() {
        page.push_str(
            "<p class=\"ok\">Nothing to do: every sample targeted so far is complete.</p>",
        );
    } else {
        page.push_str(
            "<p class=\"muted small\">These commands complete every sample the runs targeted and up to the highest id \
             present (complete samples are skipped):</p>",
        );
        let commands: Vec<String> = a.commands.iter().map(|c| e(c)).collect();
        let _ = write!(page, "<pre data-commands>{}</pre>", commands.join("\n"));
    }
    for note in &report.notes {
        let _ = write!(page, "<p class=\"note\">{}</p>", e(note));
    }
    page.push_str("</section>\n");
}

fn pipeline(page: &mut String, report: &Report) {
    page.push_str(
        "<h3>Pipeline <span class=\"sub\">in chain order</span></h3><div class=\"scroll\"><table>\
         <thead><tr><th>#</th><th>block</th><th>type</th><th>inputs</th><th>outputs</th>\
         <th>fingerprint</th><th>params / command</th><th>changed</th></tr></thead><tbody>",
    );
    for (at, block) in report.blocks.iter().enumerate() {
        let mut outputs = block.outputs.join(", ");
        if !block.optional_outputs.is_empty() {
            outputs.push_str(&format!(
                " + optional {}",
                block.optional_outputs.join(", ")
            ));
        }
        let mut settings = String::new();
        if let Some(command) = &block.command {
            settings.push_str(&command.join(" "));
        }
        if !block.params.is_null() && block.params != serde_json::json!({}) {
            if !settings.is_empty() {
                settings.push_str("  ");
            }
            settings.push_str(&block.params.to_string());
        }
        let stale = report
            .analysis
            .blocks
            .iter()
            .find(|b| b.name == block.name)
            .map_or(0, |b| b.counts.stale);
        let changed = if stale > 0 {
            format!(
                "<span class=\"tag rejected\">{}</span> samples made by an earlier version",
                escape::count(stale)
            )
        } else {
            "<span class=\"muted\">no</span>".to_owned()
        };
        let short: String = block.fingerprint.chars().take(12).collect();
        let _ = write!(
            page,
            "<tr><td class=\"num\">{}</td><td><b>{}</b></td><td>{} <span class=\"muted\">v{}</span></td>\
             <td class=\"mono\">{}</td><td class=\"mono\">{}</td>\
             <td class=\"mono\" title=\"{}\">{}</td><td class=\"mono small wrap\">{}</td><td>{changed}</td></tr>",
            at + 1,
            e(&block.name),
            e(&block.type_name),
            block.version,
            e(&or_dash(&block.inputs.join(", "))),
            e(&or_dash(&outputs)),
            e(&block.fingerprint),
            e(&short),
            e(&escape::truncate(&or_dash(&settings), PARAMS_CHARS)),
        );
    }
    page.push_str("</tbody></table></div>");
}

fn or_dash(text: &str) -> String {
    if text.is_empty() {
        "—".to_owned()
    } else {
        text.to_owned()
    }
}

/// A horizontal bar of state proportions.
fn state_bar(page: &mut String, class: &str, parts: &[(&str, u64)]) {
    let total: u64 = parts.iter().map(|p| p.1).sum();
    let _ = write!(page, "<div class=\"{class}\">");
    if total > 0 {
        for &(state, count) in parts.iter().filter(|p| p.1 > 0) {
            let share = count as f64 * 100.0 / total as f64;
            let _ = write!(
                page,
                "<span class=\"s-{state}\" style=\"width:{share:.2}%\" title=\"{state}: {}\"></span>",
                escape::count(count)
            );
        }
    }
    page.push_str("</div>");
}

fn blocks(page: &mut String, report: &Report) {
    page.push_str(
        "<section id=\"blocks\"><h2>Blocks</h2><div class=\"scroll\"><table class=\"sortable\">\
         <thead><tr><th>block</th><th class=\"num\">complete</th><th class=\"num\">failed</th>\
         <th class=\"num\">rejected</th><th class=\"num\">stale</th><th class=\"num\">missing</th>\
         <th>states</th><th class=\"num\">timed</th><th class=\"num\">mean</th>\
         <th class=\"num\">p50</th><th class=\"num\">p95</th><th class=\"num\">max</th>\
         <th class=\"num\">total</th></tr></thead><tbody>",
    );
    for counts in &report.analysis.blocks {
        let name = e(&counts.name);
        let counts_name = &counts.name;
        let counts = &counts.counts;
        let errors = counts.failed;
        let _ = write!(page, "<tr><td><b>{name}</b></td>");
        for (state, value) in [
            ("complete", counts.complete),
            ("failed", errors),
            ("rejected", counts.rejected),
            ("stale", counts.stale),
            ("missing", counts.missing),
        ] {
            let _ = write!(
                page,
                "<td class=\"num\" data-block=\"{name}\" data-state=\"{state}\">{}</td>",
                escape::count(value)
            );
        }
        page.push_str("<td>");
        state_bar(
            page,
            "bar",
            &[
                ("complete", counts.complete),
                ("failed", errors),
                ("rejected", counts.rejected),
                ("stale", counts.stale),
                ("missing", counts.missing),
            ],
        );
        page.push_str("</td>");
        let timing = report
            .timings
            .as_ref()
            .and_then(|t| t.blocks.get(counts_name));
        match timing {
            Some(t) => {
                let cell = |v: Option<f64>| v.map_or_else(|| "—".to_owned(), escape::seconds);
                let _ = write!(
                    page,
                    "<td class=\"num\">{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
                     <td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td>\
                     <td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\" data-v=\"{}\">{}</td>",
                    escape::count(t.count),
                    t.mean.unwrap_or(0.0),
                    cell(t.mean),
                    t.p50.unwrap_or(0.0),
                    cell(t.p50),
                    t.p95.unwrap_or(0.0),
                    cell(t.p95),
                    t.max.unwrap_or(0.0),
                    cell(t.max),
                    t.total_seconds,
                    escape::seconds(t.total_seconds),
                );
            }
            None => page.push_str(
                "<td class=\"num\">0</td><td class=\"num\">—</td><td class=\"num\">—</td>\
                 <td class=\"num\">—</td><td class=\"num\">—</td><td class=\"num\">—</td>",
            ),
        }
        page.push_str("</tr>");
    }
    page.push_str(
        "</tbody></table></div><p class=\"muted small\">Wall times are of the last attempt per \
         sample and block, from the runs' timing logs.</p>",
    );
    if let Some(chart) = &report.timings_chart {
        page.push_str("<div class=\"wide\">");
        figure(page, report, chart);
        page.push_str("</div>");
    }
    failures(page, report);
    page.push_str("</section>\n");
}

fn failures(page: &mut String, report: &Report) {
    let any = report.block_failures.iter().any(|b| !b.kinds.is_empty());
    if !any {
        page.push_str("<h3>Failures</h3><p class=\"ok\">No failures.</p>");
        return;
    }
    for (counts, block) in report.analysis.blocks.iter().zip(&report.block_failures) {
        if block.kinds.is_empty() {
            continue;
        }
        let _ = write!(
            page,
            "<h3>Failures of {} <span class=\"sub\">{} samples, grouped by kind (numbers left out)</span></h3>\
             <div class=\"scroll\"><table><thead><tr><th>kind</th><th class=\"num\">samples</th>\
             <th>sample ids</th><th>examples</th></tr></thead><tbody>",
            e(&counts.name),
            escape::count(counts.counts.failed + counts.counts.rejected)
        );
        for kind in &block.kinds {
            let tag = if kind.rejected {
                "<span class=\"tag rejected\">rejected</span> "
            } else {
                "<span class=\"tag failed\">failed</span> "
            };
            let shown = kind
                .kind
                .strip_prefix(REJECTED_PREFIX)
                .unwrap_or(&kind.kind);
            let example = kind
                .example
                .strip_prefix(REJECTED_PREFIX)
                .unwrap_or(&kind.example);
            let examples: Vec<String> = kind
                .examples
                .iter()
                .map(|&id| {
                    format!(
                        "<a href=\"{}{}/\">{id}</a>",
                        e(&report.link_base),
                        crate::layout::sample_path(id)
                    )
                })
                .collect();
            let _ = write!(
                page,
                "<tr><td>{tag}<span class=\"mono\">{}</span>\
                 <div class=\"muted small\">e.g. {}</div></td><td class=\"num\">{}</td>\
                 <td class=\"mono\">{}</td><td class=\"mono\">{}</td></tr>",
                e(&escape::truncate(shown, REASON_CHARS)),
                e(&escape::truncate(example, REASON_CHARS)),
                escape::count(kind.count),
                e(&kind.ranges),
                examples.join(", ")
            );
        }
        if block.other_kinds > 0 {
            let _ = write!(
                page,
                "<tr><td class=\"muted\">{} other kinds</td><td class=\"num\">{}</td>\
                 <td colspan=\"2\" class=\"muted\">see <code>shardgen analyze</code></td></tr>",
                escape::count(block.other_kinds as u64),
                escape::count(block.other_samples)
            );
        }
        page.push_str("</tbody></table></div>");
    }
}

fn figure(page: &mut String, report: &Report, chart: &Chart) {
    let _ = write!(
        page,
        "<figure id=\"chart-{}\"><img src=\"{}\" width=\"{}\" height=\"{}\" alt=\"chart {}\">\
         <figcaption><a href=\"{}{}\">{}</a></figcaption></figure>",
        e(&chart.name),
        chart.uri,
        crate::plot::WIDTH,
        crate::plot::HEIGHT,
        e(&chart.name),
        e(&report.link_base),
        e(&chart.file),
        e(&chart.file)
    );
}

fn statistics(page: &mut String, report: &Report) {
    page.push_str("<section id=\"statistics\"><h2>Statistics</h2>");
    let Some(summary) = &report.statistics else {
        page.push_str(
            "<p class=\"note\">No statistics yet: <code>shardgen run CONFIG --out DIR \
             --statistics-only</code> writes them.</p></section>\n",
        );
        return;
    };
    let _ = write!(
        page,
        "<p class=\"muted\">Over the {} complete samples of the {} seen by the statistics pass \
         (<code>statistics.yaml</code>, one row per sample in <code>statistics.csv</code>).</p>",
        escape::count(summary.samples.complete),
        escape::count(summary.samples.seen)
    );
    if summary.numbers.is_empty() {
        page.push_str("<p class=\"muted\">No numeric statistics.</p>");
    } else {
        page.push_str(
            "<div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>statistic</th>\
             <th class=\"num\">count</th><th class=\"num\">mean</th><th class=\"num\">std</th>\
             <th class=\"num\">min</th><th class=\"num\">p5</th><th class=\"num\">p25</th>\
             <th class=\"num\">p50</th><th class=\"num\">p75</th><th class=\"num\">p95</th>\
             <th class=\"num\">max</th><th>distribution</th></tr></thead><tbody>",
        );
        for (stat, number) in summary.numbers.iter().take(super::MAX_NUMBERS) {
            number_row(page, report, stat, number);
        }
        page.push_str("</tbody></table></div>");
        let more = summary.numbers.len().saturating_sub(super::MAX_NUMBERS);
        if more > 0 {
            let _ = write!(
                page,
                "<p class=\"muted\">{more} more numeric statistics are in statistics.yaml.</p>"
            );
        }
    }
    if !summary.texts.is_empty() {
        page.push_str(
            "<h3>Text statistics <span class=\"sub\">most frequent values</span></h3>\
             <div class=\"scroll\"><table><thead><tr><th>statistic</th><th class=\"num\">count</th>\
             <th>values</th></tr></thead><tbody>",
        );
        for (stat, text) in summary.texts.iter().take(super::MAX_TEXTS) {
            let mut values: Vec<(&String, &u64)> = text.values.iter().collect();
            values.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
            let mut cells: Vec<String> = values
                .iter()
                .take(TEXT_VALUES)
                .map(|(value, count)| {
                    format!(
                        "<span><b class=\"mono\">{}</b> ×{}</span>",
                        e(&escape::truncate(value, VALUE_CHARS)),
                        escape::count(**count)
                    )
                })
                .collect();
            if values.len() > TEXT_VALUES {
                let rest: u64 = values[TEXT_VALUES..].iter().map(|v| *v.1).sum();
                cells.push(format!(
                    "<span class=\"muted\">{} other values ×{}</span>",
                    values.len() - TEXT_VALUES,
                    escape::count(rest)
                ));
            }
            let _ = write!(
                page,
                "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td>\
                 <td class=\"values\">{}</td></tr>",
                e(stat),
                escape::count(text.count),
                cells.join("")
            );
        }
        page.push_str("</tbody></table></div>");
        let more = summary.texts.len().saturating_sub(super::MAX_TEXTS);
        if more > 0 {
            let _ = write!(
                page,
                "<p class=\"muted\">{more} more text statistics are in statistics.yaml.</p>"
            );
        }
    }
    if !report.charts.is_empty() {
        page.push_str(
            "<h3>Charts of the config <span class=\"sub\">the <code>plots:</code> entries, \
             as in plots/</span></h3><div class=\"charts\">",
        );
        for chart in &report.charts {
            figure(page, report, chart);
        }
        page.push_str("</div>");
    }
    page.push_str("</section>\n");
}

fn number_row(page: &mut String, report: &Report, stat: &str, number: &NumberSummary) {
    let cell = |v: Option<f64>| match v {
        Some(v) => format!(
            "<td class=\"num\" data-v=\"{v}\">{}</td>",
            escape::number(v)
        ),
        None => "<td class=\"num\" data-v=\"\">—</td>".to_owned(),
    };
    let mut count = escape::count(number.count);
    if number.non_finite > 0 {
        count.push_str(&format!(
            " <span class=\"muted\" title=\"NaN or infinite values left out\">+{} non-finite</span>",
            escape::count(number.non_finite)
        ));
    }
    let _ = write!(
        page,
        "<tr><td class=\"mono\">{}</td><td class=\"num\" data-v=\"{}\">{count}</td>",
        e(stat),
        number.count
    );
    for value in [
        number.mean,
        number.std,
        number.min,
        number.p5,
        number.p25,
        number.p50,
        number.p75,
        number.p95,
        number.max,
    ] {
        page.push_str(&cell(value));
    }
    page.push_str("<td class=\"spark\">");
    if let Some(bins) = report.bins.get(stat) {
        let label = format!(
            "{stat}: {} bins from {} to {}",
            bins.len(),
            escape::number(bins.first().map_or(0.0, |b| b.0)),
            escape::number(bins.last().map_or(0.0, |b| b.1))
        );
        let chart = svg::histogram(bins, &label);
        let link = match (report.drawn_by.get(stat), report.hist_charts.get(stat)) {
            (Some(name), _) => Some(format!("#chart-{}", e(name))),
            (None, Some(file)) => Some(format!("{}{}", e(&report.link_base), e(file))),
            _ => None,
        };
        match link {
            Some(href) => {
                let _ = write!(page, "<a href=\"{href}\">{chart}</a>");
            }
            None => page.push_str(&chart),
        }
    }
    page.push_str("</td></tr>");
}

fn gallery(page: &mut String, report: &Report) {
    page.push_str("<section id=\"gallery\"><h2>Gallery</h2>");
    if report.gallery.is_empty() {
        page.push_str(
            "<p class=\"muted\">No previews: no block declares a PNG output, or no sample has one yet.</p>\
             </section>\n",
        );
        return;
    }
    page.push_str(
        "<p class=\"muted\">The first complete samples, then the first rejected and failed ones \
         that have an image; each links to its folder.</p><div class=\"gallery\">",
    );
    for tile in &report.gallery {
        let folder = crate::layout::sample_path(tile.id);
        let (class, caption) = match &tile.state {
            TileState::Complete => ("complete", String::new()),
            TileState::Rejected { block, reason } => (
                "rejected",
                format!(
                    "<span class=\"tag rejected\">rejected</span> {}: {}",
                    e(block),
                    e(&escape::truncate(
                        reason.strip_prefix(REJECTED_PREFIX).unwrap_or(reason),
                        CAPTION_CHARS
                    ))
                ),
            ),
            TileState::Failed { block, reason } => (
                "failed",
                format!(
                    "<span class=\"tag failed\">failed</span> {}: {}",
                    e(block),
                    e(&escape::truncate(reason, CAPTION_CHARS))
                ),
            ),
        };
        let _ = write!(
            page,
            "<figure class=\"{class}\"><a href=\"{base}{folder}/\"><img src=\"{}\" width=\"{}\" \
             height=\"{}\" alt=\"sample {} {}\"></a><figcaption><a href=\"{base}{folder}/\">{}</a> \
             <span class=\"mono\">{}</span><br>{caption}</figcaption></figure>",
            tile.uri,
            tile.width,
            tile.height,
            tile.id,
            e(&tile.file),
            tile.id,
            e(&tile.file),
            base = e(&report.link_base),
        );
    }
    page.push_str("</div></section>\n");
}

/// A duration from run logs, whose times have whole seconds.
fn log_seconds(seconds: f64) -> String {
    if seconds < 1.0 {
        "< 1 s".to_owned()
    } else {
        escape::seconds(seconds)
    }
}

fn runs(page: &mut String, report: &Report) {
    let runs = &report.runs;
    page.push_str("<section id=\"runs\"><h2>Runs</h2>");
    if runs.total == 0 {
        page.push_str("<p class=\"muted\">No run logs in .shardgen/runs/.</p></section>\n");
        return;
    }
    page.push_str(
        "<h3>By host</h3><div class=\"scroll\"><table class=\"sortable\"><thead><tr><th>host</th>\
         <th class=\"num\">runs</th><th class=\"num\">samples completed</th>\
         <th class=\"num\">failed</th><th class=\"num\">run time</th></tr></thead><tbody>",
    );
    for (host, totals) in &runs.hosts {
        let _ = write!(
            page,
            "<tr><td class=\"mono\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\" data-v=\"{}\">{}</td></tr>",
            e(host),
            escape::count(totals.runs),
            escape::count(totals.completed),
            escape::count(totals.failed),
            totals.seconds,
            log_seconds(totals.seconds)
        );
    }
    page.push_str("</tbody></table></div>");
    let _ = write!(
        page,
        "<h3>Every run <span class=\"sub\">{}</span></h3><div class=\"scroll\">\
         <table class=\"sortable\"><thead><tr><th>started (UTC)</th><th>host</th><th>samples</th>\
         <th class=\"num\">duration</th><th class=\"num\">targeted</th>\
         <th class=\"num\">were complete</th><th class=\"num\">completed</th>\
         <th class=\"num\">failed</th><th class=\"num\">of them rejected</th><th>status</th></tr></thead><tbody>",
        if runs.rows.len() < runs.total {
            format!(
                "the latest {} of {} (the counts by host cover all)",
                runs.rows.len(),
                runs.total
            )
        } else {
            format!("{} run log(s)", runs.total)
        }
    );
    for row in runs.rows.iter().rev() {
        let log = &row.log;
        let status_class = if log.status == "finished" {
            "ok"
        } else {
            "muted"
        };
        let _ = write!(
            page,
            "<tr><td class=\"mono\" title=\"{}\">{}</td><td class=\"mono\">{}</td><td>{}</td>\
             <td class=\"num\" data-v=\"{}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td><span class=\"{status_class}\">{}</span></td></tr>",
            e(&format!("{} · {}", log.run, log.command_line.join(" "))),
            e(&log.started.replace('T', " ").replace('Z', "")),
            e(&log.host),
            e(&log.samples),
            row.seconds.unwrap_or(-1.0),
            row.seconds.map_or_else(|| "—".to_owned(), log_seconds),
            escape::count(log.counts.targeted),
            escape::count(log.counts.already_complete),
            escape::count(log.counts.completed),
            escape::count(log.counts.failed),
            escape::count(log.counts.rejected),
            e(&escape::truncate(&log.status, REASON_CHARS)),
        );
    }
    page.push_str("</tbody></table></div>");
    if !runs.unreadable.is_empty() {
        let _ = write!(
            page,
            "<p class=\"note\">{} run log(s) could not be read: {}</p>",
            runs.unreadable.len(),
            e(&escape::truncate(&runs.unreadable.join(", "), REASON_CHARS))
        );
    }
    page.push_str("</section>\n");
}
