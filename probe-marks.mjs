// Probe (not committed): returning-visit timeline, page marks + the engine worker's marks on the page's clock.
import { chromium } from '@playwright/test';
import { cpSync, existsSync, rmSync } from 'node:fs';
const origin = process.env.ORIGIN ?? 'http://127.0.0.1:4310';
const pristine = '/tmp/probe/profile-pristine';
const args = ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];
const launch = (dir) => chromium.launchPersistentContext(dir, { executablePath: '/usr/bin/chromium', args });
if (!existsSync(pristine)) {
  const context = await launch(pristine);
  const page = await context.newPage();
  await page.goto(origin);
  const progress = page.locator('#embedding-progress');
  await progress.waitFor({ timeout: 60_000 });
  await progress.waitFor({ state: 'detached', timeout: 600_000 });
  await page.waitForTimeout(3000);
  await context.close();
  console.log('profile made');
}
const visits = Number(process.env.VISITS ?? 4);
for (let v = 0; v < visits; v++) {
  const dir = `/tmp/probe/profile-run`;
  rmSync(dir, { recursive: true, force: true });
  cpSync(pristine, dir, { recursive: true });
  // one warm-up returning visit (as the bench: SW and code cache primed), then the measured one
  for (const measured of [false, true]) {
    const context = await launch(dir);
    const page = await context.newPage();
    const workers = [];
    page.on('worker', (w) => workers.push(w));
    await page.goto(origin);
    await page.waitForFunction(() => performance.getEntriesByName('first-recommendation').length > 0, null, { timeout: 60_000 });
    await page.waitForTimeout(1500);
    if (measured) {
      const pageInfo = await page.evaluate(() => ({
        origin: performance.timeOrigin,
        marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]),
        nav: (() => { const n = performance.getEntriesByType('navigation')[0]; return { responseEnd: n.responseEnd, domInteractive: n.domInteractive, dcl: n.domContentLoadedEventEnd }; })(),
        res: performance.getEntriesByType('resource').filter((r) => /assets|src/.test(r.name)).map((r) => [r.name.split('/').pop(), Math.round(r.startTime), Math.round(r.responseEnd)]),
        paint: performance.getEntriesByType('element').map((e) => [e.identifier, e.renderTime]),
      }));
      const lines = [];
      for (const [n, t] of pageInfo.marks) lines.push([t, `page ${n}`]);
      for (const [n, t] of pageInfo.paint) lines.push([t, `paint ${n}`]);
      lines.push([pageInfo.nav.responseEnd, 'nav responseEnd'], [pageInfo.nav.domInteractive, 'domInteractive']);
      for (const [n, s, e] of pageInfo.res) lines.push([s, `res start ${n}`], [e, `res end ${n}`]);
      for (const w of workers) {
        try {
          const info = await w.evaluate(() => ({ origin: performance.timeOrigin, marks: performance.getEntriesByType('mark').map((m) => [m.name, m.startTime]) }));
          const shift = info.origin - pageInfo.origin;
          lines.push([shift, `worker start ${w.url().split('/').pop()}`]);
          for (const [n, t] of info.marks) lines.push([t + shift, `worker ${n}`]);
        } catch (e) { lines.push([0, `worker ? ${String(e).slice(0, 60)}`]); }
      }
      lines.sort((a, b) => a[0] - b[0]);
      console.log(`--- visit ${v}`);
      for (const [t, n] of lines) console.log(t.toFixed(0).padStart(6), n);
    }
    await context.close();
  }
}
