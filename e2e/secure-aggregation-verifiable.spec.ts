/**
 * "Contribute to the shared model" in the VERIFIABLE mode (issue 20's "Bad input": a device that tampers with its
 * vector can only move the sum within its clipping bound): a leader and a helper (`npm run aggregator --
 * --verifiable … --app`, each with embedded PGlite in memory) and three browser contexts that choose the mode,
 * consent and each send one report (a share to each aggregator, with PINE's norm proof); a tampering report sent
 * from Node (a vector far past the norm bound, claiming a slack of 0) is dropped by both aggregators; the leader's
 * collected sum is exactly the sum of what the three browsers sent (each vector rebuilt here from its two uploads,
 * which only the two aggregators together could do), and all three import the published model. Nothing reaches
 * either aggregator before consent; no request leaves for any origin but the app's and the two aggregators'.
 *
 * The pair's origins are fixed when the app is built (the CSP's connect-src and the app's config): the CI build
 * (`npm run test:e2e`) names a masked aggregator AND a verifiable pair, so one build serves both specs (the user
 * chooses the mode where a deployment names both); this spec starts the pair on the origins the build names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page, Request } from '@playwright/test';
import { decodeModelFile } from '../src/core/federated/format';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { appVerifiableTask } from '../src/core/secagg/verifiable-app';
import { buildReport, decodeUpload, entryBound, makeVdaf } from '../src/core/secagg/verifiable/prio';
import { forgedPine } from '../src/core/secagg/verifiable/testing';
import { APP_ORIGIN, expect, feed, test } from './fixtures';
import { baseModelFile, connectSrc, DEPLOYMENT, DEPLOYMENT_ORIGINS, openApp, OUT_DIR, privacyPanel, serveCatalog, toggle } from './secure-aggregation-app';

const PAIR = DEPLOYMENT.verifiable;
const TOKEN = 'e2e-peer-token-0123456789';
const VERIFY_KEY = '000102030405060708090a0b0c0d0e0f';
const VERIFIABLE = /^Verifiable: two services/;

test.use({ serviceWorkers: 'block', extraOrigins: PAIR ? [PAIR.leader, PAIR.helper] : [] });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the protocol does not depend on the compute backend; run once'));

interface Pair {
  processes: ChildProcess[];
  dir: string;
  base: Uint8Array;
  log: string[];
}

/** Starts the helper, then the leader, on the build's origins, with the test's base model; resolves once both answer. */
async function startPair(pair: { leader: string; helper: string }): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'secagg-verifiable-e2e-'));
  const base = await baseModelFile();
  await writeFile(join(dir, 'base.global'), base);
  const log: string[] = [];
  const common = ['--verify-key', VERIFY_KEY, '--peer-token', TOKEN, '--app', '--base', join(dir, 'base.global'), '--app-origin', APP_ORIGIN];
  // No noise in this test (--noise-stddev 0), so that the collected sum can be compared exactly with what was sent.
  const start = (role: 'leader' | 'helper', origin: string, extra: string[]) => {
    const child = spawn(
      join('node_modules', '.bin', 'tsx'),
      ['server/main.ts', '--verifiable', role, ...common, '--noise-stddev', '0', '--port', new URL(origin).port, ...extra],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (chunk: Buffer) => log.push(`${role}: ${chunk.toString()}`));
    child.stderr!.on('data', (chunk: Buffer) => log.push(`${role}: ${chunk.toString()}`));
    return child;
  };
  const processes = [start('helper', pair.helper, []), start('leader', pair.leader, ['--helper', pair.helper])];
  const started = Date.now();
  for (const url of [`${pair.helper}/v1/verifiable/task`, `${pair.leader}/v1/verifiable/collection`]) {
    for (;;) {
      const exited = processes.find((child) => child.exitCode !== null);
      if (exited) throw new Error(`an aggregator exited (${exited.exitCode}): ${log.join('')}`);
      if (
        await fetch(url).then(
          (r) => r.ok,
          () => false,
        )
      )
        break;
      if (Date.now() - started > 120_000) throw new Error(`the pair did not answer within 120 s: ${log.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  return { processes, dir, base, log };
}

async function stopPair(pair: Pair | undefined): Promise<void> {
  if (!pair) return;
  for (const child of pair.processes) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  await rm(pair.dir, { recursive: true, force: true });
}

/** Two more likes (the first is openApp's), then the fine-tune they start, to its end. */
async function twoMoreLikesAndTraining(page: Page): Promise<void> {
  for (let i = 0; i < 2; i++) {
    const first = feed(page).first();
    const title = (await first.getByRole('heading').innerText()).trim();
    await first.getByRole('button', { name: 'Like', exact: true }).click();
    await expect(feed(page).filter({ has: page.getByRole('heading', { name: title, exact: true }) })).toHaveCount(0);
  }
  const model = page.locator('#model');
  await expect(model.getByRole('img', { name: /^Training loss over \d+ epochs/ })).toBeVisible({ timeout: 120_000 });
  await expect(model.locator('#training-progress')).toHaveCount(0, { timeout: 120_000 });
}

/** The mode's radio button: the engine stores the choice, then the section shows it. */
async function chooseVerifiable(page: Page): Promise<void> {
  const radio = privacyPanel(page).getByRole('radio', { name: VERIFIABLE });
  await radio.click();
  await expect(radio).toBeChecked();
  await expect(privacyPanel(page)).toContainText('Sent only to the two services:');
}

const isUpload = (request: Request) => request.method() === 'POST' && new URL(request.url()).pathname === '/v1/verifiable/reports';

test.describe('with a verifiable pair in the build', () => {
  test.skip(!PAIR, `the build names no verifiable pair: build with VITE_VERIFIABLE_LEADER and VITE_VERIFIABLE_HELPER to run this (${OUT_DIR}/deployment.json)`);
  let pair: Pair | undefined;
  test.beforeEach(async () => {
    pair = await startPair(PAIR!);
  });
  test.afterEach(async ({}, testInfo) => {
    if (testInfo.status !== testInfo.expectedStatus && pair) await writeFile(testInfo.outputPath('aggregators.log'), pair.log.join(''));
    await stopPair(pair);
    pair = undefined;
  });

  test('three browsers send verified reports, a tampered one from Node is dropped, the sum is exactly theirs and they import the model', async ({
    page,
    context,
    browser,
    requests,
  }) => {
    test.setTimeout(300_000);
    const { leader, helper } = PAIR!;
    const toPair = () => requests.filter((url) => [leader, helper].includes(new URL(url).origin));
    // The CSP: the app and exactly the deployment's origins (the pair's among them).
    expect(connectSrc((await page.goto('/'))?.headers()['content-security-policy'])).toBe(`connect-src 'self' ${DEPLOYMENT_ORIGINS.join(' ')}`);

    // Three devices: this test's page and two more contexts; every upload is recorded with its body.
    const uploads: { origin: string; body: Buffer }[] = [];
    const others: string[] = [];
    const watch = (c: BrowserContext) =>
      c.on('request', (request) => void (isUpload(request) && uploads.push({ origin: new URL(request.url()).origin, body: request.postDataBuffer()! })));
    const contexts: BrowserContext[] = [];
    const devices: Page[] = [page];
    watch(context);
    await serveCatalog(context, pair!.base);
    try {
      for (let i = 0; i < 2; i++) {
        const c = await browser.newContext({ serviceWorkers: 'block', baseURL: APP_ORIGIN });
        c.on('request', (request) => others.push(request.url()));
        watch(c);
        await serveCatalog(c, pair!.base);
        contexts.push(c);
        devices.push(await c.newPage());
      }
      // Each device likes three books, so its model fine-tunes and its change to the shared parameters is not zero.
      await Promise.all(devices.map(async (p) => (await openApp(p), await twoMoreLikesAndTraining(p))));

      // The section, in the verifiable mode, before consent: which mode, what is sent, to which two origins, the trust model, ε.
      const privacy = privacyPanel(page);
      await chooseVerifiable(page);
      await expect(toggle(page)).toHaveAttribute('aria-pressed', 'false');
      await expect(privacy).toContainText('as two shares (one to each service) that alone reveal nothing, each with a proof that its norm is at most C = 1.00');
      await expect(privacy.getByText(leader, { exact: true })).toBeVisible();
      await expect(privacy.getByText(helper, { exact: true })).toBeVisible();
      await expect(privacy).toContainText('Trust: the two services must be run by operators who do not collude');
      await expect(privacy).toContainText(/ε = \d+(\.\d+)? at δ = 1e-5 after your next round/);
      await expect(privacy).toContainText('Off: nothing is sent.');
      // Choosing the mode sends nothing; nor does waiting (a device that had joined polls every 2 s).
      await page.waitForTimeout(3000);
      expect(toPair(), 'requests to the pair without consent').toEqual([]);

      for (const p of devices) {
        if (p !== page) await chooseVerifiable(p);
        await toggle(p).click();
        await expect(toggle(p)).toHaveAttribute('aria-pressed', 'true');
      }
      for (const p of devices) await expect(privacyPanel(p)).toContainText(/Collection \w+: both shares and the proof sent/, { timeout: 120_000 });
      expect(uploads.filter((u) => u.origin === leader)).toHaveLength(3);
      expect(uploads.filter((u) => u.origin === helper)).toHaveLength(3);

      // What the browsers sent: each vector is the sum of its two uploads (matched by nonce).
      const collection = (await (await fetch(`${leader}/v1/verifiable/collection`)).json()) as { collectionId: string; deltaLength: number };
      const task = appVerifiableTask(collection.deltaLength, { clipNorm: 1, noiseMultiplier: 1 });
      const vdaf = makeVdaf(task.params);
      const field = vdaf.flp.field;
      const hex = (b: Uint8Array) => Buffer.from(b.subarray(0, 16)).toString('hex');
      const helperShares = new Map(
        await Promise.all(uploads.filter((u) => u.origin === helper).map(async (u) => [hex(u.body), await decodeUpload(vdaf, 1, u.body)] as const)),
      );
      const B = entryBound(task.params.bits);
      const sent = await Promise.all(
        uploads
          .filter((u) => u.origin === leader)
          .map(async (u) => {
            const a = await decodeUpload(vdaf, 0, u.body);
            const b = helperShares.get(hex(u.body))!;
            return Array.from(
              { length: task.params.length },
              (_, i) => Number(field.add(a.inputShare.measurementShare[i]!, b.inputShare.measurementShare[i]!)) - B,
            );
          }),
      );
      const normSquared = (x: readonly number[]) => x.reduce((s, v) => s + v * v, 0);
      for (const x of sent) {
        expect(normSquared(x)).toBeLessThanOrEqual(task.params.normBound!);
        expect(normSquared(x)).toBeGreaterThan(0);
      }

      // A tampering device (from Node): a vector 4× past the norm bound, claiming a slack of 0 (its norm "exactly N").
      const k = Math.ceil((4 * task.params.normBound!) / (B - 1) ** 2);
      const tampered = Array.from({ length: task.params.length }, (_, i) => (i < k ? (i % 2 ? B - 1 : 1 - B) : 0));
      const forger = forgedPine(task.params, {
        checks: (prefix, seed, circuit) => [...circuit.slackBits(0n), ...circuit.wraparoundEncoding(prefix, seed).encoding],
      });
      const report = await buildReport(task.params, tampered, forger);
      const post = (url: string, body: Uint8Array) =>
        fetch(url, { method: 'POST', headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from(body) }).then((r) => r.status);
      expect(await post(`${helper}/v1/verifiable/reports`, report.helper)).toBe(201);
      expect(await post(`${leader}/v1/verifiable/reports?collection=${collection.collectionId}`, report.leader)).toBe(201);

      // The operator collects: three reports accepted, the tampered one dropped, the sum exactly the browsers'.
      const collected = await fetch(`${leader}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
      const body = (await collected.json()) as { reports: number; rejected: number; sum: number[]; published: { collection: string } };
      expect(collected.status).toBe(200);
      expect({ reports: body.reports, rejected: body.rejected }).toEqual({ reports: 3, rejected: 1 });
      expect(body.sum).toEqual(Array.from({ length: task.params.length }, (_, j) => sent.reduce((s, x) => s + x[j]!, 0)));
      expect(body.published.collection).toBe(collection.collectionId);

      // The devices import the published model (base + the decoded mean) through the import path.
      for (const p of devices) {
        await expect(privacyPanel(p)).toContainText(`The shared model of round ${collection.collectionId} (built from 3 updates) is in use.`, {
          timeout: 120_000,
        });
        await expect(p.locator('#model')).toContainText(`imported from “the shared model of round ${collection.collectionId}”`);
        await expect(feed(p)).toHaveCount(20);
      }
      const published = await decodeModelFile(new Uint8Array(await (await fetch(`${leader}/v1/verifiable/models/latest`)).arrayBuffer()));
      const base = await decodeShippedGlobal(pair!.base);
      expect(published.header).toMatchObject({
        kind: 'global',
        contributors: 3,
        modelId: base.header.modelId,
        catalogFingerprint: base.header.catalogFingerprint,
      });

      // Every request of the other contexts went to the app or the pair (this page's: the fixture checks).
      const origins = new Set(others.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')).map((url) => new URL(url).origin));
      expect([...origins].sort()).toEqual([APP_ORIGIN, leader, helper].sort());
    } finally {
      for (const c of contexts) await c.close().catch(() => undefined);
    }
  });
});
