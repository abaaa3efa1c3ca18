// Opens an Ironic console URL in headless Debian Chromium (playwright-core from the repository) as a user would,
// waits until noVNC says it is connected and the given colour (the emulated KVM's marker) is on its canvas.
// Usage: node ironic-plugin/smoke/browser-check.mjs <console url> <#rrggbb> <screenshot.png>
import { chromium } from 'playwright-core';

const [url, colour, shot] = process.argv.slice(2);
const want = [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run', '--disable-sync'],
});
let code = 1;
try {
  const page = await browser.newPage({ viewport: { width: 1300, height: 1000 } });
  await page.goto(url);
  await page.waitForFunction(() => /connected/i.test(document.getElementById('status')?.textContent ?? ''), undefined, { timeout: 30_000 });
  console.log(`noVNC status: ${await page.textContent('#status')}`);
  await page.waitForFunction((w) => {
    const c = document.querySelector('canvas');
    if (!c || !c.width) return false;
    const d = c.getContext('2d').getImageData(0, 0, c.width, Math.min(c.height, 120)).data;
    for (let i = 0; i < d.length; i += 4) if (d[i] === w[0] && d[i + 1] === w[1] && d[i + 2] === w[2]) return true;
    return false;
  }, want, { timeout: 30_000, polling: 500 });
  console.log(`colour ${colour} is on noVNC's canvas`);
  code = 0;
} catch (err) {
  console.error(`browser check failed: ${err.message.split('\n')[0]}`);
} finally {
  const [page] = browser.contexts().flatMap((c) => c.pages());
  if (page && shot) await page.screenshot({ path: shot }).catch(() => {});
  await browser.close();
}
process.exit(code);
