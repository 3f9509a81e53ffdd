// Opens a shardgen report.html in headless Chromium (playwright-core) and
// checks it as a reader's browser sees it:
//   - no console message of level error, no uncaught exception, no failed
//     request, and no request that leaves the file (everything is inline);
//   - every <img> decodes (naturalWidth > 0);
//   - the counts marked with data-count / data-block + data-state equal
//     those of `shardgen analyze --json`;
//   - the counts are there with JavaScript off too;
//   - clicking a sortable header sorts without an error;
// then saves a full-page screenshot 1280 px wide.
//
//   node check-report.js REPORT.html ANALYSIS.json SCREENSHOT.png
// NODE_PATH must find playwright-core; CHROMIUM (default /usr/bin/chromium).
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

const [reportPath, analysisPath, screenshotPath] = process.argv.slice(2);
if (!screenshotPath) {
  console.error('usage: node check-report.js REPORT.html ANALYSIS.json SCREENSHOT.png');
  process.exit(2);
}
const analysis = JSON.parse(fs.readFileSync(analysisPath, 'utf8'));
const url = 'file://' + path.resolve(reportPath);
const problems = [];
const fail = (message) => problems.push(message);
const expectEqual = (what, got, want) => {
  if (got !== want) fail(`${what}: the page says ${got}, analyze --json says ${want}`);
};

// The numbers of analyze --json the page must show.
function expectedCounts() {
  const counts = {
    present: analysis.samples.present,
    complete: analysis.samples.complete,
    incomplete: analysis.samples.incomplete,
    failed: analysis.samples.failed,
    rejected: analysis.samples.rejected,
  };
  const blocks = analysis.blocks.map((b) => ({
    name: b.name,
    complete: b.complete,
    failed: b.failed,
    rejected: b.rejected,
    missing: b.missing,
    stale: b.stale,
  }));
  return { counts, blocks };
}

async function pageCounts(page) {
  return page.evaluate(() => {
    const number = (el) => Number(el.textContent.replace(/,/g, '').trim());
    const counts = {};
    document.querySelectorAll('[data-count]').forEach((el) => {
      counts[el.getAttribute('data-count')] = number(el);
    });
    const blocks = {};
    document.querySelectorAll('[data-block][data-state]').forEach((el) => {
      const name = el.getAttribute('data-block');
      blocks[name] = blocks[name] || {};
      blocks[name][el.getAttribute('data-state')] = number(el);
    });
    return { counts, blocks };
  });
}

function compareCounts(label, seen) {
  const want = expectedCounts();
  const c = seen.counts;
  expectEqual(`${label} present`, c.present, want.counts.present);
  expectEqual(`${label} complete`, c.complete, want.counts.complete);
  expectEqual(`${label} incomplete`, c.incomplete, want.counts.incomplete);
  expectEqual(`${label} rejected`, c.rejected, want.counts.rejected);
  expectEqual(`${label} failed`, c.failed, want.counts.failed);
  const names = Object.keys(seen.blocks);
  expectEqual(`${label} blocks`, names.join(','), want.blocks.map((b) => b.name).join(','));
  for (const b of want.blocks) {
    const s = seen.blocks[b.name] || {};
    expectEqual(`${label} ${b.name} complete`, s.complete, b.complete);
    expectEqual(`${label} ${b.name} rejected`, s.rejected, b.rejected);
    expectEqual(`${label} ${b.name} failed`, s.failed, b.failed);
    expectEqual(`${label} ${b.name} missing`, s.missing, b.missing);
    expectEqual(`${label} ${b.name} stale`, s.stale, b.stale);
  }
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error') fail(`console error: ${msg.text()}`);
    });
    page.on('pageerror', (error) => fail(`uncaught exception: ${error.message}`));
    page.on('requestfailed', (request) =>
      fail(`failed request: ${request.url().slice(0, 120)} (${request.failure()?.errorText})`));
    page.on('request', (request) => {
      const u = request.url();
      if (u !== url && !u.startsWith('data:')) fail(`request outside the page: ${u.slice(0, 120)}`);
    });
    await page.goto(url, { waitUntil: 'load' });

    const images = await page.evaluate(() =>
      Array.from(document.images).map((img) => ({
        alt: img.alt, src: img.getAttribute('src').slice(0, 30), width: img.naturalWidth,
      })));
    if (images.length === 0) fail('the page has no image');
    for (const img of images) {
      if (!(img.width > 0)) fail(`image "${img.alt}" (${img.src}...) does not decode`);
      if (!img.src.startsWith('data:')) fail(`image "${img.alt}" is not embedded: ${img.src}`);
    }
    const external = await page.evaluate(() => ({
      scripts: document.querySelectorAll('script[src]').length,
      sheets: document.querySelectorAll('link[rel=stylesheet]').length,
    }));
    if (external.scripts || external.sheets) fail(`external scripts or styles: ${JSON.stringify(external)}`);

    const seen = await pageCounts(page);
    compareCounts('page', seen);

    // Sorting: click the first sortable header twice; the page must stay sane.
    const header = page.locator('table.sortable th').nth(1);
    if (await header.count()) {
      await header.click();
      await header.click();
    }

    await page.setViewportSize({ width: 1280, height: 900 });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: screenshotPath, fullPage: true });

    // With scripts off, the same numbers are there.
    const quiet = await browser.newContext({ javaScriptEnabled: false });
    const plain = await quiet.newPage();
    await plain.goto(url, { waitUntil: 'load' });
    compareCounts('page without JavaScript', await pageCounts(plain));

    const summary = {
      images: images.length,
      counts: seen.counts,
      blocks: Object.keys(seen.blocks).length,
      screenshot: screenshotPath,
      problems: problems.length,
    };
    console.log(JSON.stringify(summary));
  } finally {
    await browser.close();
  }
  if (problems.length) {
    for (const p of problems) console.error(`check-report: ${p}`);
    process.exit(1);
  }
})().catch((error) => {
  console.error(`check-report: ${error.stack || error}`);
  process.exit(1);
});
