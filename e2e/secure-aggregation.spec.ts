/**
 * "Contribute to the shared model" (issue 20): browser contexts and the aggregation service (`npm run
 * aggregator`, embedded PGlite in memory) run a secure-aggregation round: three complete it, a fourth closes
 * after its masked upload and the round still decodes (with only three, core/secagg cannot unmask a dropout:
 * each secret is shared to the two others with threshold 2); every request of every context goes to the app's
 * origin or the aggregator's and nowhere else; with the toggle off nothing at all reaches the aggregator.
 *
 * The same three devices then run the VERIFIABLE mode where the build names a verifiable pair too (the CI build,
 * `npm run test:e2e`, names both; the user chooses the mode): a leader and a helper (`npm run aggregator --
 * --verifiable … --app`) start from the model the devices now share (the masked round's); each device likes three
 * more books (a fine-tune, so its change is not zero), chooses the mode and consents, and sends one report (a share
 * to each aggregator, with PINE's norm proof); a tampering report sent from Node (a vector far past the norm bound,
 * claiming a slack of 0) is dropped by both; the leader's collected sum is exactly the sum of what the three browsers
 * sent (each vector rebuilt here from its two uploads, which only the two aggregators together could do), and all
 * three import the published model. Nothing reaches the pair before consent. One story, so the browsers start and
 * fine-tune once for both modes (it was two specs, each with its own three browsers).
 *
 * The aggregator's origin is fixed when the app is built (the CSP's connect-src and the app's config):
 * these tests need a build made with `VITE_AGGREGATOR_ORIGIN=http://127.0.0.1:8797` (its dist/deployment.json
 * names it) and start the service on that port themselves. A build without an aggregator runs the one
 * test that checks the panel says there is none.
 *
 * Fast: a 48-book catalog (e2e/genre-catalog.ts) and a shipped global model for it made here, which the
 * service also starts from (so the devices' starting point and the round's agree), short phase deadlines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page, Request } from '@playwright/test';
import { decodeModelFile } from '../src/core/federated/format';
import { PARAM_W } from '../src/core/model/hybrid';
import { decodeShippedGlobal } from '../src/core/model/shipped-global';
import { appVerifiableTask } from '../src/core/secagg/verifiable-app';
import { buildReport, decodeUpload, entryBound, makeVdaf } from '../src/core/secagg/verifiable/prio';
import { forgedPine } from '../src/core/secagg/verifiable/testing';
import { axeViolations } from './axe';
import { APP_ORIGIN, expect, feed, test } from './fixtures';
import {
  AGGREGATOR,
  baseModelFile,
  chooseVerifiable,
  connectSrc,
  DEPLOYMENT,
  DEPLOYMENT_ORIGINS,
  likesAndTraining,
  openApp,
  OUT_DIR,
  privacyPanel,
  serveCatalog,
  PAIR_TOKEN,
  startPair,
  stopPair,
  toggle,
  TOGGLE,
} from './secure-aggregation-app';

const PAIR = DEPLOYMENT.verifiable;

/**
 * Each phase's deadline: the keys phase closes at the cohort at once (else this long after the first registration: all
 * four browsers must register within it, which takes longer than 12 s on a loaded machine).
 */
const PHASE_SECONDS = 30;
/** The consistency phase's: it waits this long for the closed context's signature (it waited PHASE_SECONDS before). */
const CONSISTENCY_SECONDS = 10;

test.use({ serviceWorkers: 'block', extraOrigins: AGGREGATOR ? [AGGREGATOR] : [] });
test.beforeEach(({}, testInfo) => test.skip(testInfo.project.name === 'webgpu', 'the protocol does not depend on the compute backend; run once'));

interface Service {
  process: ChildProcess;
  dir: string;
  base: Uint8Array;
  log: string[];
  /**
   * Resolves once the service answers. A test awaits it only where a device may first reach the service (before a
   * toggle goes on): the service starts (tsx, its database) while the browsers make their first visits.
   */
  ready: Promise<void>;
}

/** Starts `npm run aggregator`'s program on the built-in origin's port with the test's base model; `ready` says when it answers. */
async function startAggregator(origin: string): Promise<Service> {
  const dir = await mkdtemp(join(tmpdir(), 'secagg-e2e-'));
  const base = await baseModelFile();
  await writeFile(join(dir, 'base.global'), base);
  const port = new URL(origin).port;
  const log: string[] = [];
  const child = spawn(
    join('node_modules', '.bin', 'tsx'),
    [
      'server/main.ts',
      '--port',
      port,
      '--app-origin',
      APP_ORIGIN,
      '--cohort',
      '4',
      // Every round needs all four devices: once the fourth has left, the three others' next rounds are abandoned at
      // their keys deadline, before any masked vector (the device records ε only when it sends one). So each device
      // joins exactly one masked round, however slowly the test runs, and its lifetime budget has room for the
      // verifiable report after it (with --min-cohort 3 the three went on completing rounds until the verifiable
      // phase: under two workers, enough of them to spend 9.01 of the budget's 10, and nothing was sent).
      '--min-cohort',
      '4',
      '--phase-seconds',
      String(PHASE_SECONDS),
      // The consistency phase waits this long for the fourth device's signature, which never comes; the three
      // others sign within a poll or two (every 2 s) of the survivor lists appearing.
      '--consistency-seconds',
      String(CONSISTENCY_SECONDS),
      '--base',
      join(dir, 'base.global'),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => log.push(chunk.toString()));
  const ready = (async () => {
    const started = Date.now();
    for (;;) {
      if (child.exitCode !== null) throw new Error(`the aggregator exited (${child.exitCode}): ${log.join('')}`);
      const answer = await fetch(`${origin}/v1/round`).then(
        (r) => r.ok,
        () => false,
      );
      if (answer) return;
      if (Date.now() - started > 120_000) throw new Error(`the aggregator did not answer within 120 s: ${log.join('')}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  })();
  // Handled where a test awaits it; a test that fails before then reports its own error, not this one too.
  ready.catch(() => undefined);
  return { process: child, dir, base, log, ready };
}

async function stopAggregator(service: Service | undefined): Promise<void> {
  if (!service) return;
  if (service.process.exitCode === null) {
    const exited = new Promise((resolve) => service.process.once('exit', resolve));
    service.process.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  await rm(service.dir, { recursive: true, force: true });
}

/** The Privacy section says this device has joined exactly one round (the device records one when it sends a masked vector). */
const joinedOneRound = (page: Page) => expect(privacyPanel(page)).toContainText(/You joined 1 round so far \(ε = \d/);

const toAggregator = (urls: readonly string[]) => urls.filter((url) => AGGREGATOR !== undefined && new URL(url).origin === AGGREGATOR);

test.describe('with an aggregator in the build', () => {
  test.skip(!AGGREGATOR, `the build names no aggregator: build with VITE_AGGREGATOR_ORIGIN=http://127.0.0.1:8797 to run these (${OUT_DIR}/deployment.json)`);
  let service: Service | undefined;
  test.beforeEach(async () => {
    service = await startAggregator(AGGREGATOR!);
  });
  test.afterEach(async ({}, testInfo) => {
    if (testInfo.status !== testInfo.expectedStatus && service) await writeFile(testInfo.outputPath('aggregator.log'), service.log.join(''));
    await stopAggregator(service);
    service = undefined;
  });

  test('nothing reaches the aggregator without consent; the section says what, where and ε, remembers the choice, and passes axe', async ({
    page,
    context,
    requests,
  }) => {
    test.setTimeout(180_000);
    await serveCatalog(context, service!.base);
    // The CSP lets the page and its worker connect to the app and to exactly the deployment's origins besides (header and
    // <meta>): this aggregator, and the verifiable pair where the build names one too (the round test below).
    const connect = connectSrc;
    const allowed = `connect-src 'self' ${DEPLOYMENT_ORIGINS.join(' ')}`;
    const response = await page.goto('/');
    expect(connect(response?.headers()['content-security-policy'])).toBe(allowed);
    expect(connect(await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content'))).toBe(allowed);
    // The embed page (the widget never contributes) keeps connect-src 'self'.
    expect(connect((await page.request.get('/embed.html')).headers()['content-security-policy'])).toBe("connect-src 'self'");
    await openApp(page);
    // The engine's worker obeys its own script's header, not the page's.
    const workerScript = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .map((entry) => entry.name)
        .find((name) => /\/assets\/worker-[^/]*\.js$/.test(name)),
    );
    expect(workerScript).toBeDefined();
    expect(connect((await page.request.get(workerScript!)).headers()['content-security-policy'])).toBe(allowed);
    const privacy = privacyPanel(page);
    await expect(toggle(page)).toHaveAttribute('aria-pressed', 'false');
    await expect(privacy).toContainText('Off: nothing is sent.');
    await expect(privacy).toContainText('masked, noised changes to W');
    await expect(privacy).toContainText('Never sent: your personal taste vector (u), your history (events) or your searches (queries).');
    await expect(privacy.getByText(AGGREGATOR!, { exact: true })).toBeVisible();
    await expect(privacy).toContainText(/ε = \d+(\.\d+)? at δ = 1e-5 after your next round/);
    // The lifetime budget (the default: the e2e build names the aggregator alone), nothing spent yet.
    await expect(privacy).toContainText('Lifetime privacy budget: ε = 10.00. Spent: ε = 0.00; remaining: ε = 10.00.');
    await expect(privacy).toContainText('Erasing all your data also erases the record of rounds joined, and the budget starts again');
    await expect(privacy).toContainText('Everything below is stored in this browser only. Nothing is sent anywhere.');
    // The file export is still there, as it was.
    await expect(privacy.getByRole('button', { name: 'Export model update', exact: true })).toBeVisible();
    expect(await axeViolations(page, { include: '#privacy' })).toEqual([]);
    await service!.ready;
    // Long enough for a device that had joined to have registered (it polls every 2 s): nothing was sent.
    await page.waitForTimeout(5000);
    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    await expect(toggle(page)).toHaveAttribute('aria-pressed', 'false');
    await page.waitForTimeout(3000);
    expect(toAggregator(requests), 'requests to the aggregator without consent').toEqual([]);

    // On: remembered across a reload, and the device starts talking to the aggregator (and to nothing else: the fixture checks).
    await toggle(page).click();
    await expect(toggle(page)).toHaveAttribute('aria-pressed', 'true');
    await expect(privacy).toContainText(/Waiting for the next round|keys sent/);
    await expect(privacy.getByText(/The one thing sent is what “Contribute to the shared model” describes/)).toBeVisible();
    expect(await axeViolations(page, { include: '#privacy' })).toEqual([]);
    await expect.poll(() => toAggregator(requests).length).toBeGreaterThan(0);
    await page.reload();
    await expect(feed(page)).toHaveCount(20);
    await expect(toggle(page)).toHaveAttribute('aria-pressed', 'true');
    // Off again: from then on nothing more is sent.
    await toggle(page).click();
    await expect(toggle(page)).toHaveAttribute('aria-pressed', 'false');
    const sent = toAggregator(requests).length;
    await page.waitForTimeout(5000);
    expect(toAggregator(requests).length).toBe(sent);
  });

  test('three browsers complete a round that a fourth leaves after its masked upload; it decodes; then, in the verifiable mode, they send verified reports from the model they imported, a tampered one from Node is dropped, the sum is exactly theirs; no other origin is reached', async ({
    browser,
  }) => {
    test.setTimeout(480_000);
    const urls: string[] = [];
    const contexts: BrowserContext[] = [];
    // Every upload to the verifiable pair, with its body.
    const uploads: { origin: string; body: Buffer }[] = [];
    const open = async (b: Browser): Promise<{ context: BrowserContext; page: Page }> => {
      const context = await b.newContext({ serviceWorkers: 'block', baseURL: APP_ORIGIN });
      context.on('request', (request) => {
        urls.push(request.url());
        if (isUpload(request)) uploads.push({ origin: new URL(request.url()).origin, body: request.postDataBuffer()! });
      });
      await serveCatalog(context, service!.base);
      contexts.push(context);
      return { context, page: await context.newPage() };
    };
    const originsOf = (list: readonly string[]) =>
      [...new Set(list.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')).map((url) => new URL(url).origin))].sort();
    try {
      const devices = [await open(browser), await open(browser), await open(browser), await open(browser)];
      await Promise.all(devices.map(({ page }) => openApp(page)));
      await service!.ready;
      const leaving = devices[3];
      // The fourth device can never fetch the survivors (so it never signs them nor unmasks), and closes once its masked vector is sent.
      await leaving!.context.route(`${AGGREGATOR}/v1/rounds/*/survivors`, (route) => route.abort());
      const maskedSent = leaving!.context.waitForEvent('requestfinished', {
        predicate: (request) => request.method() === 'POST' && request.url().endsWith('/masked'),
        timeout: 120_000,
      });
      for (const { page } of devices) await toggle(page).click();
      const masked = await maskedSent;
      expect((await masked.response())?.status()).toBe(204);
      await leaving!.context.close();

      // The three others sign the survivor lists (the consistency phase closes at its deadline with 3 of 4, the
      // threshold), check the three signatures, unmask; the service decodes and publishes; they import it.
      const roundId = new URL(masked.url()).pathname.split('/')[3]!;
      const staying = devices.slice(0, 3).map(({ page }) => page);
      for (const page of staying) {
        await expect(privacyPanel(page)).toContainText(`The shared model of round ${roundId} (built from 4 updates) is in use.`, { timeout: 120_000 });
        await expect(page.locator('#model')).toContainText(`imported from “the shared model of round ${roundId}”`);
        await expect(toggle(page)).toHaveAttribute('aria-pressed', 'true');
        await expect(feed(page)).toHaveCount(20);
      }
      for (const page of staying) await joinedOneRound(page);
      const latest = (await (await fetch(`${AGGREGATOR}/v1/models/latest.json`)).json()) as { round: string };
      expect(latest.round).toBe(roundId);
      // The published model is the base plus the decoded mean change: it differs from the base (the sum was decoded and applied).
      const publishedBytes = new Uint8Array(await (await fetch(`${AGGREGATOR}/v1/models/latest`)).arrayBuffer());
      const published = await decodeModelFile(publishedBytes);
      const base = await decodeShippedGlobal(service!.base);
      expect(published.header).toMatchObject({
        kind: 'global',
        contributors: 4,
        modelId: base.header.modelId,
        catalogFingerprint: base.header.catalogFingerprint,
      });
      expect(published.params[PARAM_W]!.values.some((v, i) => v !== base.params[PARAM_W]!.values[i])).toBe(true);

      // Every request of every context so far: the app's origin or the aggregator's, nothing else; and the aggregator
      // got each protocol step from the devices.
      expect(originsOf(urls)).toEqual([APP_ORIGIN, AGGREGATOR!].sort());
      const steps = toAggregator(urls).map((url) => new URL(url).pathname.replace(roundId, ':id'));
      for (const step of [
        '/v1/rounds/:id/keys',
        '/v1/rounds/:id/shares',
        '/v1/rounds/:id/masked',
        '/v1/rounds/:id/signature',
        '/v1/rounds/:id/signatures',
        '/v1/rounds/:id/unmask',
        '/v1/models/latest',
      ])
        expect(steps).toContain(step);

      if (!PAIR) return;
      // The VERIFIABLE mode (issue 20's "Bad input": a device that tampers with its vector can only move the sum within
      // its clipping bound), with the same three devices: a leader and a helper start from the model they now share (the
      // round's), each device likes three more books so its model fine-tunes and its change to the shared parameters is
      // not zero, chooses the mode and consents, and sends one report (a share to each aggregator, with PINE's norm proof).
      await verifiableRound(staying, PAIR, publishedBytes, uploads, urls);
    } finally {
      // All at once: each close waits for its pages and workers to go (4-5 s for the four, one after another).
      await Promise.all(contexts.map((context) => context.close().catch(() => undefined)));
    }
  });
});

const isUpload = (request: Request) => request.method() === 'POST' && new URL(request.url()).pathname === '/v1/verifiable/reports';

async function verifiableRound(
  devices: Page[],
  { leader, helper }: { leader: string; helper: string },
  sharedModel: Uint8Array,
  uploads: { origin: string; body: Buffer }[],
  urls: string[],
): Promise<void> {
  const toPair = () => urls.filter((url) => [leader, helper].includes(new URL(url).origin));
  const pair = await startPair({ leader, helper }, sharedModel);
  try {
    // Off first (the masked mode's consent: no device joins another masked round), then three more likes each.
    for (const p of devices) {
      await toggle(p).click();
      await expect(toggle(p)).toHaveAttribute('aria-pressed', 'false');
    }
    await Promise.all(devices.map((p) => likesAndTraining(p, 3)));
    // No masked round joined since the first (the aggregator's later rounds lack the fourth device), however long the
    // checks above took before the toggles went off.
    for (const p of devices) await joinedOneRound(p);
    await pair.ready;
    // The section in the verifiable mode, before consent: which mode, what is sent, to which two origins, the trust model, ε.
    const page = devices[0]!;
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

    // What the browsers sent: each vector is the sum of its two uploads (matched by nonce), which only the two
    // aggregators together could rebuild.
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
    const collected = await fetch(`${leader}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${PAIR_TOKEN}` } });
    const body = (await collected.json()) as { reports: number; rejected: number; sum: number[]; published: { collection: string } };
    expect(collected.status).toBe(200);
    expect({ reports: body.reports, rejected: body.rejected }).toEqual({ reports: 3, rejected: 1 });
    expect(body.sum).toEqual(Array.from({ length: task.params.length }, (_, j) => sent.reduce((s, x) => s + x[j]!, 0)));
    expect(body.published.collection).toBe(collection.collectionId);

    // The devices import the published model (the shared one + the decoded mean) through the import path.
    for (const p of devices) {
      await expect(privacyPanel(p)).toContainText(`The shared model of round ${collection.collectionId} (built from 3 updates) is in use.`, {
        timeout: 120_000,
      });
      await expect(p.locator('#model')).toContainText(`imported from “the shared model of round ${collection.collectionId}”`);
      await expect(feed(p)).toHaveCount(20);
    }
    const published = await decodeModelFile(new Uint8Array(await (await fetch(`${leader}/v1/verifiable/models/latest`)).arrayBuffer()));
    const shared = await decodeModelFile(sharedModel);
    expect(published.header).toMatchObject({
      kind: 'global',
      contributors: 3,
      modelId: shared.header.modelId,
      catalogFingerprint: shared.header.catalogFingerprint,
    });

    // Every request of every context, both rounds: the app, the aggregator or the pair, nothing else.
    const origins = new Set(urls.filter((url) => !url.startsWith('data:') && !url.startsWith('blob:')).map((url) => new URL(url).origin));
    expect([...origins].sort()).toEqual([APP_ORIGIN, AGGREGATOR!, leader, helper].sort());
  } catch (error) {
    await writeFile(test.info().outputPath('aggregators.log'), pair.log.join('')).catch(() => undefined);
    throw error;
  } finally {
    await stopPair(pair);
  }
}

test('without an aggregator in the build, the section says there is none and offers no toggle', async ({ page, context }) => {
  test.skip(AGGREGATOR !== undefined, `the build names an aggregator (${AGGREGATOR}); the tests above cover it`);
  await serveCatalog(context, await baseModelFile());
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  const privacy = privacyPanel(page);
  await expect(privacy).toContainText('This app has no aggregation service configured, so nothing can be sent from here.');
  await expect(privacy.getByRole('button', { name: TOGGLE })).toHaveCount(0);
  await expect(privacy.getByRole('button', { name: 'Export model update', exact: true })).toBeVisible();
});
