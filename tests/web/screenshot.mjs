// Opens a page in the system's chromium (through playwright-core), waits for
// it to draw, takes a screenshot, and prints what the test checks as JSON:
// the page's visible text, its script errors, and how many canvases it drew.
// Usage: node screenshot.mjs URL OUT.png [CHROMIUM]
import { chromium } from 'playwright-core';

const [url, out, executable] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: executable || '/usr/bin/chromium',
  // speedscope draws with WebGL: SwiftShader renders it without a GPU.
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 800 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  // speedscope shows a canvas once a profile is loaded, and its error text if loading failed.
  await page.waitForFunction(
    () => document.querySelector('canvas') !== null || /went wrong|error/i.test(document.body.innerText),
    null,
    { timeout: 60000 },
  );
  await page.waitForTimeout(1500);
  await page.screenshot({ path: out });
  const text = await page.evaluate(() => document.body.innerText);
  const canvases = await page.evaluate(() => document.querySelectorAll('canvas').length);
  console.log(JSON.stringify({ text, errors, canvases }));
} finally {
  await browser.close();
}
