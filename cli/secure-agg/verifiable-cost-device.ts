/**
 * The device's two steps of the verifiable mode, timed: what verifiable-cost.ts runs in Node and, bundled,
 * in a Chromium worker (so this file imports only the core, nothing of Node).
 */
import { encodeForVerifiable, verifiableParams, type VerifiableSettings } from '../../src/core/secagg/verifiable/encode';
import { buildReport } from '../../src/core/secagg/verifiable/prio';

const SEED = new Uint8Array(32).fill(9);

export interface DeviceSteps {
  encodeMs: number;
  shardMs: number;
  leaderBytes: number;
  helperBytes: number;
  clamped: number;
}

/** A delta of `length` values (every value changed), encoded and sharded with its proof. */
export async function deviceSteps(settings: VerifiableSettings, length: number): Promise<DeviceSteps> {
  const delta = Float32Array.from({ length }, (_, i) => Math.sin(i * 0.37) * 1e-3);
  const t0 = performance.now();
  const { values, clamped } = encodeForVerifiable(delta, settings, SEED);
  const t1 = performance.now();
  const report = await buildReport(verifiableParams(settings, length), values);
  const t2 = performance.now();
  return { encodeMs: t1 - t0, shardMs: t2 - t1, leaderBytes: report.leader.length, helperBytes: report.helper.length, clamped };
}
