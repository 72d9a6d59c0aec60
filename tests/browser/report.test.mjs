// Headless-browser tests of the single self-contained HTML page that `cnnviz report` writes.
// Drives Debian's /usr/bin/chromium through playwright-core (no browser download). Run by scripts/browser-test:
//
//   CNNVIZ_REPORT=report.html CNNVIZ_SUMMARY_JSON=summary.json \
//     node --test --test-reporter=spec tests/browser/report.test.mjs
//
// Environment:
//   CNNVIZ_REPORT        the HTML page (required)
//   CNNVIZ_SUMMARY_JSON  `cnnviz summary MODEL ... --format json` for the same model and input: an independent
//                        reference for the rows and for the record embedded in the page (required)
//   CNNVIZ_SEARCH        a module path to search for (default: the summary's last leaf layer)
//   CNNVIZ_MAX_BYTES     the page must be smaller than this many bytes (test skipped when unset)
//   CNNVIZ_SCREENSHOT    save a 1280x900 screenshot of the top of the page here (skipped when unset)
//   CNNVIZ_CHROMIUM      the browser (default /usr/bin/chromium)
//
// The DOM contract these tests check is described in scripts/browser-test.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set (see the top of tests/browser/report.test.mjs)`);
  return path.resolve(value);
}

const reportPath = requiredEnv('CNNVIZ_REPORT');
const summaryPath = requiredEnv('CNNVIZ_SUMMARY_JSON');
const reportUrl = pathToFileURL(reportPath).href;
const summary = JSON.parse(readFileSync(summaryPath, 'utf8'));
const layers = summary.layers;
assert.ok(Array.isArray(layers) && layers.length > 0, `${summaryPath}: no "layers" array`);

// For machines without a network (and without a GPU or a sandbox-capable kernel, or as root): nothing of
// Chromium's own (updates, sync, QUIC probes, first-run pages) may reach out. playwright-core already passes
// most of these (and --disable-dev-shm-usage); they are repeated so that they hold whatever it passes.
// launch() gives every browser a fresh temporary profile (user-data-dir) and deletes it on close.
const chromiumArgs = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const STEP_MS = 10_000; // the longest any single browser action or wait may take
const TEST_OPTS = { timeout: 120_000 };

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CNNVIZ_CHROMIUM || '/usr/bin/chromium',
    args: chromiumArgs,
    timeout: 60_000,
  });
});
after(async () => {
  await browser?.close();
});

// A fresh context (cookies, cache, settings) per test, guarded: every request that is neither file: nor data:
// is recorded and aborted, whichever test makes it.
async function newGuardedContext(options = {}) {
  const context = await browser.newContext(options);
  context.setDefaultTimeout(STEP_MS);
  const outside = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    outside.push(`${route.request().method()} ${url} (routed)`);
    return route.abort('blockedbyclient');
  });
  return { context, outside };
}

// Opens the report in a new page of `context`, recording every request and every error the page reports.
async function openReport(guarded) {
  const { context, outside } = guarded;
  const page = await context.newPage();
  const log = { requests: [], outside, consoleErrors: [], pageErrors: [] };
  page.on('request', (request) => {
    const url = request.url();
    log.requests.push(url);
    if (!url.startsWith('file:') && !url.startsWith('data:')) outside.push(`${request.method()} ${url}`);
  });
  page.on('console', (message) => {
    if (message.type() === 'error') {
      const where = message.location();
      log.consoleErrors.push(`${message.text()} (${where.url || '?'}:${where.lineNumber})`);
    }
  });
  page.on('pageerror', (error) => log.pageErrors.push(String(error?.stack || error)));
  await page.goto(reportUrl, { waitUntil: 'load' });
  return { page, log };
}

function assertNoErrors(log) {
  assert.deepEqual(log.pageErrors, [], 'uncaught exceptions in the page');
  assert.deepEqual(log.consoleErrors, [], 'console messages of type error');
}

async function withReport(options, fn) {
  const guarded = await newGuardedContext(options);
  try {
    const { page, log } = await openReport(guarded);
    return await fn(page, log);
  } finally {
    await guarded.context.close();
  }
}

// Every li.row's state. Visible is Playwright's notion: a non-empty box, not inside a [hidden], display:none,
// content-visibility:hidden or closed <details> subtree, not visibility:hidden.
async function rowStates(page) {
  return page.evaluate(() => Array.from(document.querySelectorAll('li.row'), (el) => {
    const box = el.getBoundingClientRect();
    return {
      path: el.getAttribute('data-path'),
      index: el.getAttribute('data-index'),
      match: el.classList.contains('match'),
      containsMatch: el.querySelector('li.row.match') !== null,
      hiddenAttr: el.hasAttribute('hidden'),
      visible: el.checkVisibility({ visibilityProperty: true }) && box.width > 0 && box.height > 0,
    };
  }));
}

function cssString(s) {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\a ')}"`;
}

function openAllDetails(page) {
  return page.evaluate(() => {
    for (const d of document.querySelectorAll('details')) d.open = true;
    return document.querySelectorAll('details').length;
  });
}

// Whether the summary has two adjacent sibling containers of the same class (a run the page must fold).
// The number of groups the page must fold, from the summary JSON alone: runs of two or more adjacent
// sibling containers of one class with one output shape and the same classes (at the same relative
// depths) below them (ResNet-18's layer1.0 and layer1.1; not the stages layer2 to layer4).
function repeatedBlockRuns(rows) {
  const children = new Map(); // parent index (-1: top) -> child indices, in order
  const end = new Array(rows.length).fill(rows.length); // one past each row's last descendant
  const stack = [];
  rows.forEach((row, i) => {
    while (stack.length && rows[stack.at(-1)].depth >= row.depth) end[stack.pop()] = i;
    const parent = stack.length ? stack.at(-1) : -1;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(i);
    stack.push(i);
  });
  const shape = (i) => rows.slice(i, end[i]).map((r) => `${r.depth - rows[i].depth}:${r.class}`).join(' ');
  const same = (a, b) => !rows[a].is_leaf && !rows[b].is_leaf && rows[a].class === rows[b].class &&
    JSON.stringify(rows[a].output_shape) === JSON.stringify(rows[b].output_shape) && shape(a) === shape(b);
  let runs = 0;
  for (const kids of children.values()) {
    for (let k = 0; k < kids.length;) {
      let run = k + 1;
      while (run < kids.length && same(kids[k], kids[run])) run++;
      if (run - k >= 2) runs++;
      k = run;
    }
  }
  return runs;
}

test('a. opens from file:// offline: no errors, no request other than file: and data:', TEST_OPTS, async () => {
  await withReport({}, async (page, log) => {
    // Exercise everything that might load something late: every section open, every image scrolled to.
    await openAllDetails(page);
    await page.evaluate(async () => {
      for (const img of document.images) {
        img.scrollIntoView({ block: 'center' });
        await new Promise((resolve) => requestAnimationFrame(resolve));
      }
      window.scrollTo(0, document.documentElement.scrollHeight);
    });
    await page.waitForLoadState('networkidle');
    await page.waitForTimeout(250);
    assert.ok(log.requests.length >= 1, 'not even the page itself was requested');
    assert.deepEqual(log.outside, [], 'requests to something other than file: or data: URLs');
    // Resources the page names but Chromium did not fetch (yet) would fail offline too.
    const external = await page.evaluate(() => {
      const found = [];
      const check = (el, attr, value) => {
        if (value && !value.startsWith('data:') && !value.startsWith('#')) found.push(`<${el.localName} ${attr}="${value.slice(0, 80)}">`);
      };
      for (const el of document.querySelectorAll('[src], [srcset], [poster], link[href], object[data]')) {
        for (const attr of ['src', 'poster', 'data']) if (el.hasAttribute(attr)) check(el, attr, el.getAttribute(attr));
        if (el.localName === 'link') check(el, 'href', el.getAttribute('href'));
        if (el.hasAttribute('srcset')) for (const part of el.getAttribute('srcset').split(',')) check(el, 'srcset', part.trim());
      }
      return found;
    });
    assert.deepEqual(external, [], 'elements naming resources outside the page');
    assertNoErrors(log);
  });
});

test('b. one li.row per summary layer, data-path matching the layer at data-index', TEST_OPTS, async () => {
  await withReport({}, async (page, log) => {
    const rows = await rowStates(page);
    assert.equal(rows.length, layers.length, `li.row elements vs layers in ${summaryPath}`);
    const seen = new Set();
    const wrong = [];
    for (const row of rows) {
      const index = Number(row.index);
      if (row.index === null || !Number.isInteger(index) || index < 0 || index >= layers.length) {
        wrong.push(`data-path=${JSON.stringify(row.path)}: data-index=${JSON.stringify(row.index)} is not a layer index`);
        continue;
      }
      if (seen.has(index)) wrong.push(`data-index=${index} appears twice`);
      seen.add(index);
      if (row.path !== layers[index].path) {
        wrong.push(`data-index=${index}: data-path=${JSON.stringify(row.path)}, the summary says ${JSON.stringify(layers[index].path)}`);
      }
    }
    assert.deepEqual(wrong, [], 'rows that do not match the summary');
    assertNoErrors(log);
  });
});

test('c. repeated blocks fold into closed groups that open and close by mouse and keyboard', TEST_OPTS, async (t) => {
  await withReport({}, async (page, log) => {
    const expected = repeatedBlockRuns(layers);
    const groups = page.locator('li.group > details');
    const groupCount = await groups.count();
    t.diagnostic(`${groupCount} group(s); the summary has ${expected} run(s) of repeated blocks`);
    assert.equal(groupCount, expected, 'one closed li.group per run of repeated sibling blocks');
    const openGroups = await groups.evaluateAll((ds) => ds.filter((d) => d.open).length);
    assert.equal(openGroups, 0, 'groups must be closed by default');

    // Fold a group when there is one, else a container row (those are open by default).
    let details = groups.first();
    let openByDefault = false;
    if (groupCount === 0) {
      details = page.locator('li.row > details').first();
      openByDefault = true;
      if ((await details.count()) === 0) {
        t.skip('no <details> in the summary (a model without containers)');
        return;
      }
    }
    const summaryEl = details.locator(':scope > summary');
    // Whether the <details> is open, and whether all, none or only some of the items inside are visible.
    const state = () => details.evaluate((d) => {
      const items = [...d.querySelectorAll(':scope > ul > li')];
      const shown = items.filter((el) => {
        const box = el.getBoundingClientRect();
        return el.checkVisibility({ visibilityProperty: true }) && box.width > 0 && box.height > 0;
      }).length;
      return { open: d.open, itemsVisible: shown === 0 ? 'none' : shown === items.length ? 'all' : 'some' };
    });
    const closed = { open: false, itemsVisible: 'none' };
    const opened = { open: true, itemsVisible: 'all' };
    const [initial, toggled] = openByDefault ? [opened, closed] : [closed, opened];

    assert.deepEqual(await state(), initial, 'default state');
    await summaryEl.click();
    assert.deepEqual(await state(), toggled, 'after one click on its summary');
    await summaryEl.click();
    assert.deepEqual(await state(), initial, 'after a second click');

    await summaryEl.focus();
    await page.keyboard.press('Enter');
    assert.deepEqual(await state(), toggled, 'after Enter on the focused summary');
    await page.keyboard.press('Enter');
    assert.deepEqual(await state(), initial, 'after a second Enter');
    assertNoErrors(log);
  });
});

test('d. every image decodes and is a data:image/ URL', TEST_OPTS, async (t) => {
  await withReport({}, async (page, log) => {
    await openAllDetails(page);
    const images = await page.evaluate(async (stepMs) => {
      const timeout = (what) => new Promise((_, reject) => setTimeout(() => reject(new Error(`${what} timed out`)), stepMs));
      const out = [];
      for (const img of document.images) {
        img.scrollIntoView({ block: 'center' });
        let error = null;
        try {
          await Promise.race([img.decode(), timeout('decode()')]);
        } catch (e) {
          error = String(e);
        }
        const src = img.getAttribute('src') ?? '';
        out.push({ src: src.slice(0, 40), alt: img.getAttribute('alt'), naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight, error });
      }
      return out;
    }, STEP_MS);
    t.diagnostic(`${images.length} image(s)`);
    const bad = images.filter((im) => im.error || !(im.naturalWidth > 0 && im.naturalHeight > 0) || !im.src.startsWith('data:image/') || !im.alt);
    assert.deepEqual(bad, [], 'images that did not decode, are not data:image/ URLs, or have no alt text');
    assertNoErrors(log);
  });
});

test('e. search marks the matches, opens their ancestors, hides the rest; clearing restores the tree', TEST_OPTS, async (t) => {
  const query = process.env.CNNVIZ_SEARCH || layers.findLast((l) => l.is_leaf)?.path;
  assert.ok(query, 'nothing to search for: set CNNVIZ_SEARCH (the summary has no leaf layer with a path)');
  t.diagnostic(`searching for ${JSON.stringify(query)}`);
  await withReport({}, async (page, log) => {
    const target = `li.row[data-path=${cssString(query)}]`;
    assert.ok((await page.locator(target).count()) >= 1, `no ${target} in the page`);
    const before = await rowStates(page);

    const search = page.locator('#search');
    await search.click();
    await search.pressSequentially(query);
    // The page may filter on a timer: wait until the target is marked and the status shows a number.
    await page
      .waitForFunction(
        (sel) => [...document.querySelectorAll(sel)].every((el) => el.classList.contains('match')) &&
          /\d/.test(document.getElementById('search-status')?.textContent ?? ''),
        target,
        { timeout: STEP_MS },
      )
      .catch(() => {});

    const rows = await rowStates(page);
    const targets = rows.filter((r) => r.path === query);
    for (const r of targets) {
      assert.ok(r.match, `${target} has no class "match"`);
      assert.ok(r.visible, `${target} is not visible (its ancestors' <details> should be open)`);
    }
    assert.ok(await page.locator(target).first().isVisible(), `${target} is not visible to Playwright`);
    const matches = rows.filter((r) => r.match).length;
    assert.ok(matches >= 1);
    const status = (await page.locator('#search-status').textContent()) ?? '';
    const numbers = (status.match(/\d+/g) ?? []).map(Number);
    assert.ok(numbers.includes(matches), `#search-status says ${JSON.stringify(status)}, but ${matches} row(s) have class "match"`);
    const shown = rows.filter((r) => !r.match && !r.containsMatch && r.visible).map((r) => r.path);
    assert.deepEqual(shown, [], 'rows that neither match nor contain a match but are still visible');

    await search.fill('');
    await page
      .waitForFunction(() => !document.querySelector('li.row.match, li.row[hidden]'), null, { timeout: STEP_MS })
      .catch(() => {});
    const cleared = await rowStates(page);
    assert.deepEqual(cleared.filter((r) => r.match || r.hiddenAttr).map((r) => r.path), [], 'rows still marked or hidden after clearing the search');
    const changed = cleared.filter((r, i) => r.visible !== before[i].visible).map((r) => `${JSON.stringify(r.path)} visible=${r.visible}`);
    assert.deepEqual(changed, [], 'rows whose visibility differs from before the search');
    assertNoErrors(log);
  });
});

test('f. the embedded record is JSON and carries the same summary', TEST_OPTS, async () => {
  await withReport({}, async (page, log) => {
    const el = await page.evaluate(() => {
      const e = document.getElementById('cnnviz-record');
      return e && { tag: e.localName, type: e.getAttribute('type'), text: e.textContent };
    });
    assert.ok(el, 'no element with id "cnnviz-record"');
    assert.equal(el.tag, 'script');
    assert.equal(el.type, 'application/json');
    let record;
    assert.doesNotThrow(() => { record = JSON.parse(el.text); }, 'its text is not JSON');
    assert.equal(record.schema, 'cnnviz.report');
    assert.ok(Array.isArray(record.images), 'record.images is not an array');
    // Every "</" must be written "<\/" (JSON.parse reads both as "</").
    assert.ok(!el.text.includes('</'), 'the record text has a "</" not written as "<\\/"');
    assert.deepEqual(record.summary, summary, `record.summary differs from ${summaryPath}`);
    assertNoErrors(log);
  });
});

test('g. without JavaScript the summary is still the whole nested tree', TEST_OPTS, async () => {
  await withReport({ javaScriptEnabled: false }, async (page) => {
    assert.equal(await page.locator('li.row').count(), layers.length, 'li.row elements without JavaScript');
    const rows = await page.locator('li.row').evaluateAll((els) => els.map((el) => {
      let depth = 0;
      for (let a = el.parentElement.closest('li.row'); a; a = a.parentElement.closest('li.row')) depth++;
      return { path: el.getAttribute('data-path'), index: Number(el.getAttribute('data-index')), parent: el.parentElement.localName, depth };
    }));
    const wrong = [];
    for (const r of rows) {
      if (r.parent !== 'ul') wrong.push(`${JSON.stringify(r.path)}: parent is <${r.parent}>, not <ul>`);
      const layer = layers[r.index];
      if (layer && r.depth !== layer.depth) wrong.push(`${JSON.stringify(r.path)}: nested ${r.depth} rows deep, depth ${layer.depth} in the summary`);
    }
    assert.deepEqual(wrong, [], 'rows not nested as the summary tree');
    const root = page.locator('#summary ul.tree > li.row[data-path=""]');
    assert.equal(await root.count(), 1, 'the root row (data-path="") directly in #summary ul.tree');
    assert.ok(await root.isVisible(), 'the root row is not visible');
    const text = (await root.locator(':scope > details > summary, :scope > .cells').first().innerText()).trim();
    assert.ok(text.length > 0, 'the root row shows no text');
  });
});

test('h. the page is smaller than CNNVIZ_MAX_BYTES', TEST_OPTS, (t) => {
  const max = process.env.CNNVIZ_MAX_BYTES;
  if (!max) {
    t.skip('CNNVIZ_MAX_BYTES not set');
    return;
  }
  assert.match(max, /^\d+$/, 'CNNVIZ_MAX_BYTES must be a number of bytes');
  const size = statSync(reportPath).size;
  t.diagnostic(`${size} bytes`);
  assert.ok(size < Number(max), `${reportPath} has ${size} bytes, the limit is ${max}`);
});

test('i. screenshot of the top of the page (CNNVIZ_SCREENSHOT)', TEST_OPTS, async (t) => {
  const out = process.env.CNNVIZ_SCREENSHOT;
  if (!out) {
    t.skip('CNNVIZ_SCREENSHOT not set');
    return;
  }
  await withReport({ viewport: { width: 1280, height: 900 } }, async (page, log) => {
    const opened = await page.evaluate(() => {
      const d = document.querySelector('#images section.image-report details, #images details');
      if (d) d.open = true;
      return Boolean(d);
    });
    t.diagnostic(opened ? 'opened the first image section' : 'no image section to open');
    await page.evaluate(() => window.scrollTo(0, 0));
    // Wait for the images within the viewport to be drawn.
    await page.evaluate(async (stepMs) => {
      const inView = [...document.images].filter((img) => img.getBoundingClientRect().top < window.innerHeight);
      await Promise.race([Promise.allSettled(inView.map((img) => img.decode())), new Promise((r) => setTimeout(r, stepMs))]);
    }, STEP_MS);
    mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    await page.screenshot({ path: out, fullPage: false });
    assert.ok(statSync(out).size > 0);
    assertNoErrors(log);
  });
});

// Reported, not asserted (timings belong to benchmarks): how long the page takes to load, from the
// browser's navigation timing, and to the first paint of its top.
test('j. load time (reported)', TEST_OPTS, async (t) => {
  await withReport({}, async (page, log) => {
    const timing = await page.evaluate(() => {
      const nav = performance.getEntriesByType('navigation')[0];
      const paint = performance.getEntriesByName('first-contentful-paint')[0];
      return { dom: nav.domContentLoadedEventEnd, load: nav.loadEventEnd, paint: paint ? paint.startTime : -1 };
    });
    t.diagnostic(`DOMContentLoaded ${timing.dom.toFixed(0)} ms, load ${timing.load.toFixed(0)} ms, first paint ${timing.paint.toFixed(0)} ms`);
    assertNoErrors(log);
  });
});
