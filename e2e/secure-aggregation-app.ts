/**
 * What secure-aggregation.spec.ts ("Contribute to the shared model": the masked mode, then the verifiable pair)
 * uses: the deployment the served build names (its dist/deployment.json), the 48-book test catalog with a shipped
 * global model made here (which the services also start from, so the devices' starting point and theirs agree),
 * opening the app with one like, more likes and the fine-tune they start, starting and stopping the verifiable
 * pair, and the Privacy panel's controls. Not a spec: no tests here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { catalogFingerprint, modelIdFor, PERSONAL_FACTORS } from '../src/core/model/identity';
import { PARAM_B, PARAM_Q, PARAM_RANKER_BIAS, PARAM_RANKER_WEIGHTS, PARAM_W } from '../src/core/model/hybrid';
import { RANKER_FEATURE_COUNT } from '../src/core/model/ranker';
import { encodeShippedGlobal } from '../src/core/model/shipped-global';
import { USE_LITE_ID } from '../src/engine/encoder-ids';
import { APP_ORIGIN, expect, feed } from './fixtures';
import { GENRE_CATALOG } from './genre-catalog';

export const OUT_DIR = process.env.VITE_OUT_DIR ?? 'dist';

/** The deployment the served build names (vite.config.ts writes it to deployment.json); {} without one. */
export const DEPLOYMENT: { aggregator?: { origin: string }; verifiable?: { leader: string; helper: string } } = (() => {
  const file = join(OUT_DIR, 'deployment.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as typeof DEPLOYMENT) : {};
})();
/** The masked aggregator it names, if any. */
export const AGGREGATOR: string | undefined = DEPLOYMENT.aggregator?.origin;
/** Every origin it names: the CSP's connect-src besides 'self', in this order (core/deployment.ts deploymentOrigins). */
export const DEPLOYMENT_ORIGINS: string[] = [AGGREGATOR, DEPLOYMENT.verifiable?.leader, DEPLOYMENT.verifiable?.helper].filter(
  (o): o is string => o !== undefined,
);

const USE_LITE_DIMENSION = 512;
export const TOGGLE = 'Contribute to the shared model';
export const BASE_DESCRIPTION = 'secure-aggregation test model';

/** A seeded uniform in [-a, a): the base model's values, the same on every run. */
function seeded(seed: number): (a: number) => number {
  let state = seed >>> 0;
  return (a) => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 2 ** 32 - 0.5) * 2 * a;
  };
}

/** The shipped global model (compact format) for GENRE_CATALOG: what every device starts from, and the service too. */
export async function baseModelFile(): Promise<Uint8Array<ArrayBuffer>> {
  const ids = GENRE_CATALOG.items.map((item) => item.id);
  const n = ids.length;
  const d = PERSONAL_FACTORS;
  const random = seeded(20);
  const fill = (length: number, a: number) => Float32Array.from({ length }, () => random(a));
  return encodeShippedGlobal(
    { modelId: modelIdFor(USE_LITE_ID), catalogFingerprint: catalogFingerprint(ids), catalog: GENRE_CATALOG.name, readers: 0, description: BASE_DESCRIPTION },
    {
      [PARAM_W]: { shape: [d, USE_LITE_DIMENSION], values: fill(d * USE_LITE_DIMENSION, 0.05) },
      [PARAM_Q]: { shape: [n, d], values: fill(n * d, 0.05) },
      [PARAM_B]: { shape: [n], values: fill(n, 0.1) },
      [PARAM_RANKER_WEIGHTS]: { shape: [RANKER_FEATURE_COUNT], values: fill(RANKER_FEATURE_COUNT, 0.5) },
      [PARAM_RANKER_BIAS]: { shape: [1], values: Float32Array.of(0) },
    },
  );
}

/** The test catalog and its shipped model for every page of the context (the worker's fetches included). */
export async function serveCatalog(context: BrowserContext, base: Uint8Array): Promise<void> {
  await context.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ json: GENRE_CATALOG }));
  await context.route('**/catalog/*.global', (route) => route.fulfill({ body: Buffer.from(base), contentType: 'application/octet-stream' }));
  await context.route('**/catalog/*.emb', (route) => route.fulfill({ status: 404, body: 'not in this test' }));
  await context.route('**/catalog/*.co-liked', (route) => route.fulfill({ status: 404, body: 'not in this test' }));
}

export const privacyPanel = (page: Page) => page.getByRole('region', { name: 'Privacy', exact: true });
export const toggle = (page: Page) => privacyPanel(page).getByRole('button', { name: TOGGLE, exact: true });

/** The app with the test catalog, its model started from the shipped base, one like (so the device has a change to send). */
export async function openApp(page: Page): Promise<void> {
  await page.goto('/');
  await expect(feed(page)).toHaveCount(20);
  await expect(page.locator('#model')).toContainText(BASE_DESCRIPTION, { timeout: 120_000 });
  const first = feed(page).first();
  const title = (await first.getByRole('heading').innerText()).trim();
  await first.getByRole('button', { name: 'Like', exact: true }).click();
  await expect(feed(page).filter({ has: page.getByRole('heading', { name: title, exact: true }) })).toHaveCount(0);
  await expect(toggle(page)).toBeEnabled();
}

/** The connect-src directive of a policy. */
export const connectSrc = (policy: string | null | undefined) =>
  policy
    ?.split(';')
    .map((part) => part.trim())
    .find((part) => part.startsWith('connect-src'));

/** The verifiable pair's peer token and VDAF verify key in these tests. */
export const PAIR_TOKEN = 'e2e-peer-token-0123456789';
const VERIFY_KEY = '000102030405060708090a0b0c0d0e0f';
const VERIFIABLE = /^Verifiable: two services/;

export interface Pair {
  processes: ChildProcess[];
  dir: string;
  base: Uint8Array;
  log: string[];
  /** Resolves once both answer: awaited before a device may reach them (they start while the browsers fine-tune). */
  ready: Promise<void>;
}

/**
 * Starts the helper, then the leader, on the build's origins, starting from `base` (a shipped .global file or a
 * federated global file: the model the devices share at that point); `ready` says when both answer.
 */
export async function startPair(pair: { leader: string; helper: string }, base: Uint8Array): Promise<Pair> {
  const dir = await mkdtemp(join(tmpdir(), 'secagg-verifiable-e2e-'));
  await writeFile(join(dir, 'base.global'), base);
  const log: string[] = [];
  const common = ['--verify-key', VERIFY_KEY, '--peer-token', PAIR_TOKEN, '--app', '--base', join(dir, 'base.global'), '--app-origin', APP_ORIGIN];
  // No noise in these tests (--noise-stddev 0), so that the collected sum can be compared exactly with what was sent;
  // --min-batch 3: the three browsers' reports are the collection (the service's default minimum is 10).
  const start = (role: 'leader' | 'helper', origin: string, extra: string[]) => {
    const child = spawn(
      join('node_modules', '.bin', 'tsx'),
      ['server/main.ts', '--verifiable', role, ...common, '--noise-stddev', '0', '--min-batch', '3', '--port', new URL(origin).port, ...extra],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout!.on('data', (chunk: Buffer) => log.push(`${role}: ${chunk.toString()}`));
    child.stderr!.on('data', (chunk: Buffer) => log.push(`${role}: ${chunk.toString()}`));
    return child;
  };
  const processes = [start('helper', pair.helper, []), start('leader', pair.leader, ['--helper', pair.helper])];
  const ready = (async () => {
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
  })();
  // Handled where the test awaits it; a test that fails before then reports its own error, not this one too.
  ready.catch(() => undefined);
  return { processes, dir, base, log, ready };
}

export async function stopPair(pair: Pair | undefined): Promise<void> {
  if (!pair) return;
  for (const child of pair.processes) {
    if (child.exitCode !== null) continue;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
  }
  await rm(pair.dir, { recursive: true, force: true });
}

/**
 * `count` more likes, then the fine-tune they start (every third event), to its end: a new loss summary (the
 * chart's name changes with the losses) and no progress bar.
 */
export async function likesAndTraining(page: Page, count: number): Promise<void> {
  const model = page.locator('#model');
  const chart = model.getByRole('img', { name: /^Training loss over \d+ epochs/ });
  const before = (await chart.count()) > 0 ? await chart.getAttribute('aria-label') : null;
  for (let i = 0; i < count; i++) {
    const first = feed(page).first();
    const title = (await first.getByRole('heading').innerText()).trim();
    await first.getByRole('button', { name: 'Like', exact: true }).click();
    await expect(feed(page).filter({ has: page.getByRole('heading', { name: title, exact: true }) })).toHaveCount(0);
  }
  await expect(chart).toBeVisible({ timeout: 120_000 });
  if (before !== null) await expect(chart).not.toHaveAttribute('aria-label', before, { timeout: 120_000 });
  await expect(model.locator('#training-progress')).toHaveCount(0, { timeout: 120_000 });
}

/** The verifiable mode's radio button: the engine stores the choice, then the section shows it. */
export async function chooseVerifiable(page: Page): Promise<void> {
  const radio = privacyPanel(page).getByRole('radio', { name: VERIFIABLE });
  await radio.click();
  await expect(radio).toBeChecked();
  await expect(privacyPanel(page)).toContainText('Sent only to the two services:');
}
