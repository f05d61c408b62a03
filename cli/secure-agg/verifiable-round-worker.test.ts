/**
 * The verifiable collection bench's worker-thread path (verifiable-round.ts generates the devices' reports in worker
 * threads, verifiable-round-worker.ts): a worker started as the bench starts it builds reports that both aggregators
 * accept and whose collected sum is exactly the encoded vectors the worker returned, at a small length.
 */
import { describe, expect, it } from 'vitest';
import { appVerifiableTask } from '../../src/core/secagg/verifiable-app';
import { makeVdaf, uploadSizes } from '../../src/core/secagg/verifiable/prio';
import { verifyRound } from '../../src/core/secagg/verifiable/testing';
import { tsxWorker } from '../tsx-worker';
import type { GeneratedReport, GenerateJob } from './verifiable-round-worker';

describe('verifiable-round-worker: the bench devices in a worker thread', () => {
  it('builds reports (the app task, PINE) that both aggregators accept, summing exactly to the vectors it returns', async () => {
    const deltaLength = 300;
    const task = appVerifiableTask(deltaLength, { clipNorm: 1, noiseMultiplier: 1 });
    const job: GenerateJob = {
      params: task.params,
      settings: task.settings,
      deltaLength,
      rotationSeed: Uint8Array.from({ length: 32 }, (_, i) => (i * 29 + 3) & 255),
      devices: [0, 1, 2, 5],
    };
    const worker = tsxWorker(new URL('./verifiable-round-worker.ts', import.meta.url));
    const reports = await new Promise<GeneratedReport[]>((resolve, reject) => {
      const out: GeneratedReport[] = [];
      worker.on('message', (message: GeneratedReport | { done: true } | { error: string }) => {
        if ('error' in message) reject(new Error(message.error));
        else if ('done' in message) resolve(out);
        else out.push(message);
      });
      worker.once('error', reject);
      worker.postMessage(job);
    }).finally(() => worker.terminate());
    expect(reports.map((r) => r.device)).toEqual(job.devices);

    const vdaf = makeVdaf(task.params);
    const sizes = uploadSizes(task.params, vdaf);
    for (const r of reports) expect([r.leader.length, r.helper.length, r.values.length]).toEqual([sizes.leader, sizes.helper, task.params.length]);
    // Both aggregators' steps on every report (testing.ts: prepareInit, prepareMessage, prepareFinish).
    const { sum, accepted, rejected } = await verifyRound(task.params, vdaf, reports);
    expect({ accepted, rejected }).toEqual({ accepted: reports.length, rejected: [] });
    const expected = Array.from({ length: task.params.length }, (_, j) => reports.reduce((s, r) => s + r.values[j]!, 0));
    expect(Array.from(sum)).toEqual(expected);
    // the devices send different deltas (device i: delta i mod 4), so the vectors are not all one
    expect(Array.from(reports[1]!.values)).not.toEqual(Array.from(reports[0]!.values));
  }, 120_000);
});
