/**
 * The consistency round against a server that lies (Bonawitz et al. 2017 §4): four devices running the app's own
 * code (engine/contribute.ts's Contributor over engine/secagg-device.ts) in front of the real service, with a test
 * double between them that plays a malicious server. It tells devices 0 and 1 the truth (everyone survived) and
 * devices 2 and 3 that device 0 dropped: were all four to unmask, it would hold device 0's self-mask seed shares
 * from the first pair and its mask-key shares from the second, hence device 0's change alone. It collects every
 * signature (forwarding the truthful ones to the service, keeping the others, which the service would refuse),
 * tells every device that the unmask phase is open, and relays signatures in the two ways it could: each pair
 * its own pair's (two, below the threshold t = 3), or all four. Every device must refuse, and none may send
 * unmask shares. Without the lie the same double passes everything through and the round completes
 * (contribute.test.ts runs that round without it).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readGlobalModel, type SharedModelState } from '../core/federated/client';
import { cloneParams } from '../core/federated/params';
import { startService, testDatabase, tinyBase, type TestService } from '../../server/testing';
import { Contributor, type ContributionReport } from './contribute';
import { deviceProtocol } from './secagg-device';

type Relay = 'own pair only' | 'all four';

interface Lying {
  /** Device index → its token and what it was told. */
  told: Map<number, { token: string; lie: boolean }>;
  /** Every signature body posted, by device index. */
  signatures: Map<number, { signature: string }>;
  /** Every request each device made (method and path). */
  requests: string[][];
}

const json = (value: unknown, status = 200) => new Response(JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } });

/** A fetch for device `d` that goes through the lying server. */
function lyingFetch(state: Lying, d: number, relay: Relay): typeof fetch {
  let index: number | undefined;
  return async (input, init) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    state.requests[d]!.push(`${method} ${url.pathname}`);
    if (method === 'POST' && url.pathname.endsWith('/keys')) {
      const response = await fetch(input, init);
      const answer = (await response.clone().json()) as { index: number; token: string };
      index = answer.index;
      // Devices 2 and 3 (by the service's registration order) are lied to.
      state.told.set(index, { token: answer.token, lie: index >= 2 });
      return response;
    }
    const lie = index !== undefined && state.told.get(index)!.lie;
    if (method === 'GET' && url.pathname.endsWith('/survivors')) {
      const truth = (await (await fetch(input, init)).json()) as { survivors: number[]; dropped: number[] };
      return json(lie ? { survivors: truth.survivors.filter((j) => j !== 0), dropped: [...truth.dropped, 0] } : truth);
    }
    if (method === 'POST' && url.pathname.endsWith('/signature')) {
      state.signatures.set(index!, JSON.parse(String(init!.body)) as { signature: string });
      // The truthful signatures go to the service; it would refuse the others (they do not verify over its lists).
      return lie ? new Response(null, { status: 204 }) : fetch(input, init);
    }
    if (method === 'GET' && /\/v1\/rounds\/[^/]+$/.test(url.pathname)) {
      const info = (await (await fetch(input, init)).json()) as { phase: string };
      // Once it holds all four signatures it says the unmask phase is open (the service itself still waits for t).
      return json(info.phase === 'consistency' && state.signatures.size === 4 ? { ...info, phase: 'unmask' } : info);
    }
    if (method === 'GET' && url.pathname.endsWith('/signatures')) {
      const all = [...state.signatures].map(([from, { signature }]) => ({ from, signature }));
      const samePair = all.filter(({ from }) => state.told.get(from)!.lie === lie);
      return json({ signatures: relay === 'all four' ? all : samePair });
    }
    return fetch(input, init);
  };
}

describe('the consistency round against a server that tells devices different survivor lists', () => {
  let service: TestService | undefined;
  const contributors: Contributor[] = [];
  afterEach(async () => {
    for (const c of contributors.splice(0)) await c.stop();
    await service?.close();
    service = undefined;
  });

  async function lyingRound(relay: Relay) {
    const base = await tinyBase(6, 2, 4);
    service = await startService({
      db: await testDatabase(),
      base,
      quiet: true,
      config: { cohort: 4, minCohort: 3, phaseSeconds: 60, noise: { clipNorm: 1, noiseMultiplier: 1, dropoutTolerance: 1 / 3 } },
    });
    const state: Lying = { told: new Map(), signatures: new Map(), requests: [[], [], [], []] };
    const reports: ContributionReport[][] = [[], [], [], []];
    for (let d = 0; d < 4; d++) {
      const local = cloneParams(base.params);
      local.q!.values[d]! += 0.1;
      let shared: SharedModelState = { modelId: 'test-model@1', catalogFingerprint: 'test-catalog', local, global: base.params };
      const settings: Record<string, unknown> = {};
      const contributor = new Contributor({
        origin: service.url,
        promised: { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 4, dropoutTolerance: 1 / 3, lifetimeEpsilon: 1000 },
        loadProtocol: async () => deviceProtocol(),
        fetch: lyingFetch(state, d, relay),
        sharedState: () => shared,
        importGlobal: async (bytes, source) => {
          const params = await readGlobalModel(
            bytes,
            { modelId: shared.modelId, catalogFingerprint: shared.catalogFingerprint, params: shared.global },
            source,
          );
          shared = { ...shared, local: cloneParams(params), global: params };
          return {};
        },
        readSettings: async () => ({ ...settings }),
        putSettings: async (values) => void Object.assign(settings, values),
        report: (report) => void reports[d]!.push(report),
        pollMs: 40,
        retryMs: 60_000,
      });
      contributors.push(contributor);
      await contributor.load();
    }
    for (const c of contributors) await c.setEnabled(true);
    const end = Date.now() + 60_000;
    while (!reports.every((r) => r.some((report) => report.stage === 'error'))) {
      if (Date.now() > end) throw new Error(`not every device refused: ${JSON.stringify(reports.map((r) => r.at(-1)?.stage))}\n${service.logs.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return { state, reports, errors: reports.map((r) => r.find((report) => report.stage === 'error')!.message ?? '') };
  }

  it('each pair shown its own pair’s signatures: two, below the threshold of three, so no device unmasks', async () => {
    const { state, errors } = await lyingRound('own pair only');
    expect(state.signatures.size).toBe(4);
    for (const message of errors) expect(message).toMatch(/refused to unmask .*only 2 devices signed these survivor lists; at least 3 must/);
    for (const requests of state.requests) {
      expect(requests.filter((r) => r.startsWith('POST') && r.endsWith('/signature'))).toHaveLength(1);
      expect(requests.filter((r) => r.endsWith('/unmask'))).toEqual([]);
    }
    // The service saw the two truthful signatures only: it never reached its unmask phase.
    expect(((await (await fetch(`${service!.url}/v1/round`)).json()) as { phase: string }).phase).toBe('consistency');
  }, 90_000);

  it('every device shown all four signatures: the other pair’s do not verify over its lists, so no device unmasks', async () => {
    const { state, errors } = await lyingRound('all four');
    // Devices told the truth meet a signature over other lists; devices lied to also meet one from device 0, "dropped".
    for (const message of errors)
      expect(message).toMatch(/refused to unmask .*(consistency signature does not verify over these lists|from device 0, which is not listed as a survivor)/);
    for (const requests of state.requests) expect(requests.filter((r) => r.endsWith('/unmask'))).toEqual([]);
  }, 90_000);
});
