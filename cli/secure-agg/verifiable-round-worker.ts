/**
 * A worker thread of the verifiable collection bench (verifiable-round.ts): the simulated devices' work, before the
 * timed part — each device encodes its delta as the app does (encodeForVerifiable: clip, ×γ_v, rotate, conditional
 * rounding) and builds its PINE report (buildReport: shares and proof). Device i sends delta i mod 4 (fixed
 * sinusoids, as the masked bench's devices do); its encoded vector is returned with the report, so that the bench
 * can check the collected sum exactly.
 */
import { parentPort } from 'node:worker_threads';
import type { VerifiableSettings } from '../../src/core/secagg/verifiable/encode';
import { encodeForVerifiable } from '../../src/core/secagg/verifiable/encode';
import { buildReport, makeVdaf, type VerifiableParams } from '../../src/core/secagg/verifiable/prio';

export interface GenerateJob {
  params: VerifiableParams;
  settings: VerifiableSettings;
  deltaLength: number;
  rotationSeed: Uint8Array;
  devices: number[];
}

export interface GeneratedReport {
  device: number;
  leader: Uint8Array;
  helper: Uint8Array;
  values: Int32Array;
}

/** Device i's delta (float units; ‖·‖ below the app's clip of 1 at both lengths benched). */
export function benchDelta(device: number, length: number): Float32Array {
  return Float32Array.from({ length }, (_, j) => Math.sin(j * 0.37 + (device % 4)) * 1e-3);
}

parentPort?.on('message', (job: GenerateJob) => {
  void (async () => {
    const vdaf = makeVdaf(job.params);
    const deltas = new Map<number, Float32Array>();
    for (const device of job.devices) {
      const k = device % 4;
      if (!deltas.has(k)) deltas.set(k, benchDelta(k, job.deltaLength));
      const { values } = encodeForVerifiable(deltas.get(k)!, job.settings, job.rotationSeed);
      const report = await buildReport(job.params, values, vdaf);
      // copies with buffers of their own (a small Buffer's is Node's shared pool, which must not be transferred)
      const out: GeneratedReport = { device, leader: new Uint8Array(report.leader), helper: new Uint8Array(report.helper), values: new Int32Array(values) };
      parentPort!.postMessage(out, [out.leader.buffer as ArrayBuffer, out.helper.buffer as ArrayBuffer, out.values.buffer as ArrayBuffer]);
    }
    parentPort!.postMessage({ done: true });
  })().catch((error: unknown) => parentPort!.postMessage({ error: String((error as Error).stack ?? error) }));
});
