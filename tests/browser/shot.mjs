// Not a test: a screenshot of one part of a report, for the docs and for looking at pages.
//   node tests/browser/shot.mjs PAGE.html OUT.png [CSS selector, default: the whole page] [width]
import { chromium } from 'playwright-core';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [page_, out, selector, width] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CNNVIZ_CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(width || 1280), height: 900 } });
  await page.goto(pathToFileURL(path.resolve(page_)).href);
  // Lazy pictures: bring each one into view so that it decodes before the picture is taken.
  await page.evaluate(async () => {
    for (const img of document.images) { img.loading = 'eager'; }
    await Promise.allSettled([...document.images].map((img) => img.decode()));
  });
  if (selector) await page.locator(selector).first().screenshot({ path: out });
  else await page.screenshot({ path: out, fullPage: true });
} finally {
  await browser.close();
}
