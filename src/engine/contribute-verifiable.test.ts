/**
 * The verifiable mode, device side (contribute-verifiable.ts with the real proof, verifiable-device.ts) against the
 * real leader and helper (server/verifiable/, in-process PGlite, the app's task on a tiny base model) over HTTP:
 * nothing is sent before consent; three devices each send one report to the open collection (a share to each
 * aggregator), the leader collects the exact sum of what they sent and publishes the model, and the devices import
 * it; a device refuses a helper that runs another task, and sends nothing.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readGlobalModel, type SharedModelState } from '../core/federated/client';
import { decodeModelFile } from '../core/federated/format';
import { cloneParams, type ParamSet } from '../core/federated/params';
import type { PromisedNoise } from '../core/deployment';
import { decodeUpload, makeVdaf } from '../core/secagg/verifiable/prio';
import { APP_VERIFIABLE_FIELD, appVerifiableTask } from '../core/secagg/verifiable-app';
import type { PineField } from '../core/secagg/verifiable/pine-params';
import { tinyBase } from '../../server/testing';
import { listenVerifiable } from '../../server/verifiable/http';
import { CollectionModels } from '../../server/verifiable/models';
import { VerifiableAggregator, type VerifiableConfig } from '../../server/verifiable/service';
import { openVerifiableDatabase, VerifiableStore } from '../../server/verifiable/store';
import type { Listening } from '../../server/http';
import { Contributor, SETTING_CONTRIBUTE_MODE, SETTING_ROUNDS, type ContributionReport } from './contribute';
import { verifiableProtocol } from './verifiable-device';
import { until } from './testing/until';

const PROMISED: PromisedNoise = { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 4, dropoutTolerance: 1 / 3, lifetimeEpsilon: 1000 };
const TOKEN = 'peer-token-0123456789abcdef';

interface Device {
  contributor: Contributor;
  states: ContributionReport[];
  settings: Record<string, unknown>;
  requests: string[];
  /** Each upload's body, by aggregator. */
  uploads: { leader: Uint8Array[]; helper: Uint8Array[] };
  state: SharedModelState;
}

function device(pair: { leader: string; helper: string }, global: ParamSet, change: number): Device {
  const local = cloneParams(global);
  local.q!.values[0]! += change;
  local.W!.values[1]! -= change;
  const d: Device = {
    states: [],
    settings: {},
    requests: [],
    uploads: { leader: [], helper: [] },
    state: { modelId: 'test-model@1', catalogFingerprint: 'test-catalog', local, global },
    contributor: undefined as unknown as Contributor,
  };
  d.contributor = new Contributor({
    promised: PROMISED,
    verifiable: { ...pair, promised: PROMISED, loadProtocol: async () => verifiableProtocol() },
    fetch: async (input, init) => {
      const url = new URL(String(input));
      d.requests.push(`${init?.method ?? 'GET'} ${url.origin === pair.leader ? 'leader' : 'helper'} ${url.pathname}`);
      if (url.pathname.endsWith('/reports')) d.uploads[url.origin === pair.leader ? 'leader' : 'helper'].push(init?.body as Uint8Array);
      return fetch(input, init);
    },
    sharedState: () => d.state,
    importGlobal: async (bytes, source) => {
      const params = await readGlobalModel(bytes, { modelId: d.state.modelId, catalogFingerprint: d.state.catalogFingerprint, params: d.state.global }, source);
      d.state = { ...d.state, local: cloneParams(params), global: cloneParams(params) };
      const { header } = await decodeModelFile(bytes);
      return header.kind === 'global' && header.contributors !== undefined ? { contributors: header.contributors } : {};
    },
    readSettings: async () => ({ ...d.settings }),
    putSettings: async (values) => void Object.assign(d.settings, values),
    report: (state) => void d.states.push(state),
    pollMs: 40,
    retryMs: 200,
  });
  return d;
}

const last = (d: Device) => d.states.at(-1)!;

describe('Contributor in the verifiable mode against a leader and a helper', () => {
  const closing: (() => Promise<void>)[] = [];
  const devices: Device[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.contributor.stop();
    for (const close of closing.splice(0).reverse()) await close();
  });

  /** A leader and a helper running the app's task, or with `helperTask` / `leaderTask` another (bits, PINE's field). */
  async function startPair(helperTask?: { bits?: number; field?: PineField }, leaderTask?: { bits?: number; field?: PineField }) {
    const base = { ...(await tinyBase(6, 2, 4)) };
    base.header = { ...base.header, modelId: 'test-model@1', catalogFingerprint: 'test-catalog' };
    const verifyKey = crypto.getRandomValues(new Uint8Array(16));
    const open = async (
      role: 'leader' | 'helper',
      other: { bits?: number; field?: PineField } | undefined,
      helperUrl?: string,
    ): Promise<{ server: Listening; store: VerifiableStore }> => {
      const db = await openVerifiableDatabase({});
      const store = new VerifiableStore(db);
      const noise = { clipNorm: PROMISED.clipNorm, noiseMultiplier: PROMISED.noiseMultiplier };
      const task =
        other === undefined
          ? CollectionModels.taskFor(base, noise)
          : {
              ...appVerifiableTask(CollectionModels.taskFor(base, noise).deltaLength, noise, other.bits, other.field),
              deltaLength: CollectionModels.taskFor(base, noise).deltaLength,
            };
      const config: VerifiableConfig = {
        role,
        taskId: 'app',
        params: task.params,
        verifyKey,
        peerToken: TOKEN,
        appTask: { deltaLength: task.deltaLength, ...noise },
        log: () => undefined,
        ...(helperUrl ? { helperUrl } : {}),
        ...(role === 'leader' ? { collections: await CollectionModels.open(store, 'app', base, noise) } : {}),
      };
      const server = await listenVerifiable(new VerifiableAggregator(store, config), { host: '127.0.0.1', port: 0, appOrigins: [] });
      closing.push(async () => {
        await server.close();
        await db.close();
      });
      return { server, store };
    };
    const helper = await open('helper', helperTask);
    const leader = await open('leader', leaderTask, helper.server.url);
    return { base, leader, helper, pair: { leader: leader.server.url, helper: helper.server.url } };
  }

  it('sends nothing before consent; three devices send one report each, the leader collects their exact sum and they import the published model', async () => {
    const { base, leader, pair } = await startPair();
    const ds = [0.05, -0.02, 0.03].map((change) => device(pair, base.params, change));
    devices.push(...ds);
    for (const d of ds) await d.contributor.load();
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const d of ds) {
      expect(d.requests).toEqual([]);
      expect(last(d)).toMatchObject({ enabled: false, stage: 'off', mode: 'verifiable', verifiable: pair });
    }
    for (const d of ds) await d.contributor.setEnabled(true);
    for (const d of ds) await until(() => last(d).stage === 'uploaded', 'the upload', 60_000);
    for (const d of ds) {
      expect(d.settings[SETTING_CONTRIBUTE_MODE]).toBe('verifiable');
      expect(d.settings[SETTING_ROUNDS]).toEqual([1]);
      expect(d.uploads.helper).toHaveLength(1);
      expect(d.uploads.leader).toHaveLength(1);
      expect(d.uploads.helper[0]!.length).toBe(128);
    }
    // What was sent: each device's vector is the sum of its two shares (only the two aggregators together could do this).
    const info = (await (await fetch(`${pair.leader}/v1/verifiable/collection`)).json()) as { collectionId: string };
    const task = CollectionModels.taskFor(base, PROMISED);
    const vdaf = makeVdaf(task.params);
    const field = vdaf.flp.field;
    const sent = await Promise.all(
      ds.map(async (d) => {
        const a = await decodeUpload(vdaf, 0, d.uploads.leader[0]!);
        const b = await decodeUpload(vdaf, 1, d.uploads.helper[0]!);
        return a.inputShare.measurementShare
          .slice(0, task.params.length)
          .map((v, i) => Number(field.add(v, b.inputShare.measurementShare[i]!)) - 2 ** (task.params.bits - 1));
      }),
    );
    const collected = await fetch(`${pair.leader}/v1/verifiable/collect`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` } });
    const body = (await collected.json()) as { reports: number; sum: number[]; published: { collection: string } };
    expect(body.reports).toBe(3);
    expect(body.published.collection).toBe(info.collectionId);
    expect(body.sum).toEqual(body.sum.map((_, j) => sent.reduce((s, x) => s + x[j]!, 0)));
    for (const d of ds) {
      await until(() => last(d).lastRound?.roundId === info.collectionId, 'the import', 60_000);
      expect(last(d).lastRound).toMatchObject({ outcome: 'imported', contributors: 3 });
    }
    expect(await leader.store.counts('app')).toMatchObject({ collected: 3, rejected: 0 });
  }, 120_000);

  it('refuses a helper that runs another task (8 bits, so another N), and sends no share', async () => {
    const { base, pair } = await startPair({ bits: 8 });
    const d = device(pair, base.params, 0.05);
    devices.push(d);
    await d.contributor.load();
    await d.contributor.setEnabled(true);
    await until(() => last(d).stage === 'error', 'the refusal', 60_000);
    expect(last(d).message).toMatch(/the helper runs a task of .*this device derives .*not sending/);
    expect(d.uploads).toEqual({ leader: [], helper: [] });
    expect(d.settings[SETTING_ROUNDS]).toBeUndefined();
  }, 60_000);

  // the leader's upload differs in size between the fields (8 or 16 bytes an element), the helper's (seeds) does not: a
  // helper is told apart by the algorithm id its task names
  it('refuses a leader that runs the same task in the other field (PINE on Field128 against Field64), and sends no share', async () => {
    const other: PineField = APP_VERIFIABLE_FIELD === 'field64' ? 'field128' : 'field64';
    const { base, pair } = await startPair({ field: other }, { field: other });
    const d = device(pair, base.params, 0.05);
    devices.push(d);
    await d.contributor.load();
    await d.contributor.setEnabled(true);
    await until(() => last(d).stage === 'error', 'the refusal', 60_000);
    expect(last(d).message).toMatch(/the leader runs the proof algorithm .*this device builds 0xffff000[12] .*not sending/);
    expect(d.uploads).toEqual({ leader: [], helper: [] });
    expect(d.settings[SETTING_ROUNDS]).toBeUndefined();
  }, 90_000);
});
