/**
 * The verifiable mode's collection, the device's side (docs/secure-aggregation.md "Verifiable mode in the app";
 * the services are server/verifiable/): two aggregators run by operators who must not collude, a LEADER and a
 * HELPER. One collection is open at a time on the leader; a device sends at most one report to it:
 *
 * read the open collection (its model, catalog and base, its noise, its rotation seed) → check it is for this
 * model, this catalog and this device's copy of the shared model (else take the published model first, as the
 * masked mode does), that its noise is at least what the user was shown and the lifetime budget allows it, and that
 * BOTH aggregators run the task this device derives (core/secagg/verifiable-app.ts: the length, 10 bits and the
 * norm bound N) → encode the change of the shared parameters (local − global of W, q, b and the ranker; never u,
 * events or queries: clip to C, scale, rotate, round — no noise, the aggregators add it) and build the report with
 * its norm proof (PINE) → record the round for ε → upload the helper's share, then the leader's (naming the
 * collection) → wait until the leader publishes the collection's model → import it through the same path as
 * "Import model update".
 *
 * Each upload alone is uniformly random (the leader's: an additive share and a share of the proof; the helper's:
 * seeds that expand to its shares): what one aggregator learns is nothing; the two together would learn the
 * vector, hence the trust model. The proof lets them drop a report whose norm exceeds √N ≈ 1.009·C·γ_v.
 */
import type { PromisedNoise } from '../core/deployment';
import { z } from '../core/schema';
import type { VerifiableNoise } from '../core/secagg/verifiable-app';
import type { VerifiableParams } from '../core/secagg/verifiable/prio';
import { base64UrlDecode, ContributionError, sleep, type AggregatorClient } from './aggregator-client';
import { baseSha256, checkSameModel, IDLE_POLL_MS, sharedDelta, type RoundContext } from './contribute-round';
import { SETTING_VERIFIABLE_SENT } from './settings-keys';

/** The device's binding of the proof (verifiable-device.ts, a chunk of its own). */
export interface VerifiableProtocol {
  /** The proof's parameters this device derives for a delta of this length and this noise. */
  params(deltaLength: number, noise: VerifiableNoise): VerifiableParams;
  /**
   * The proof these parameters make: its algorithm id (prio.ts verifiableAlgorithmId: PINE on Field128, or on Field64
   * with two proofs) and the bytes of each upload (uploadSizes).
   */
  algorithm(params: VerifiableParams): { id: number; uploadBytes: { leader: number; helper: number } };
  /** Clip, scale, rotate, round (no noise: the aggregators add it) and shard with the norm proof: the two uploads. */
  report(delta: Float32Array, noise: VerifiableNoise, rotationSeed: Uint8Array): Promise<{ leader: Uint8Array<ArrayBuffer>; helper: Uint8Array<ArrayBuffer> }>;
  /** ε (at δ) of `rounds` collections with this noise. */
  epsilon(noise: VerifiableNoise, rounds: number, delta: number, dimension: number): number;
}

export interface VerifiableDeps {
  leader: string;
  helper: string;
  /** The noise the deployment promises for this mode (its deployment.json's `verifiable.noise`). */
  promised: PromisedNoise;
  loadProtocol(): Promise<VerifiableProtocol>;
}

/** GET /v1/verifiable/collection (server/verifiable/models.ts CollectionInfo). */
export const collectionSchema = z.object({
  collectionId: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,100}$/)),
  modelId: z.string(),
  catalogFingerprint: z.string(),
  baseModelSha256: z.string().check(z.regex(/^[0-9a-f]{64}$/)),
  deltaLength: z.int().check(z.gte(1)),
  clipNorm: z.number().check(z.positive()),
  noiseMultiplier: z.number().check(z.positive()),
  bits: z.int(),
  rotationSeed: z.string().check(z.regex(/^[A-Za-z0-9_-]{43}$/)),
});

/** GET /v1/verifiable/task, the parts a device checks. */
const taskSchema = z.object({
  role: z.enum(['leader', 'helper']),
  length: z.int(),
  bits: z.int(),
  normBound: z.optional(z.int()),
  /** The bytes of a report's upload to this aggregator. */
  uploadBytes: z.optional(z.int()),
  /** Since stop 38 (the Field64 PINE); a service without it is told apart by its uploadBytes. */
  algorithmId: z.optional(z.int()),
});

const PREFIX = '/v1/verifiable';

export async function verifiableRound(
  ctx: RoundContext,
  services: { leader: AggregatorClient; helper: AggregatorClient },
  protocol: VerifiableProtocol,
): Promise<void> {
  const { signal, pollMs } = ctx;
  const { leader, helper } = services;
  const before = ctx.state();
  ctx.publish({
    stage: before.stage === 'done' ? 'done' : before.stage === 'uploaded' ? 'uploaded' : 'waiting',
    message: before.stage === 'error' ? undefined : before.message,
  });
  // 1. The open collection, one this device has not sent to, and a model to contribute from.
  let info: z.infer<typeof collectionSchema>;
  let shared = ctx.sharedState();
  for (;;) {
    shared = ctx.sharedState();
    if (shared) {
      info = await leader.json(`${PREFIX}/collection`, collectionSchema, signal);
      const sentFor = (await ctx.settings())[SETTING_VERIFIABLE_SENT];
      if (info.collectionId !== sentFor) break;
      if (ctx.state().stage !== 'uploaded') ctx.publish({ stage: 'uploaded', roundId: info.collectionId });
    }
    await sleep(shared ? pollMs : Math.max(pollMs, IDLE_POLL_MS), signal);
  }
  ctx.refreshContents();
  checkSameModel(shared, info, "the leader's collections");
  if (info.noiseMultiplier < ctx.promised.noiseMultiplier) {
    throw new ContributionError(
      `the collection's noise (σ = ${info.noiseMultiplier}) is weaker than this deployment promised (σ = ${ctx.promised.noiseMultiplier}): not joining`,
    );
  }
  if (!(await ctx.mayJoin(info.noiseMultiplier))) return;
  if ((await baseSha256(shared.global)) !== info.baseModelSha256) {
    // Another starting point (contribute-masked.ts says why): the published model first, once per collection.
    if (ctx.caughtUp(info.collectionId)) {
      ctx.publish({ stage: 'waiting', message: 'This device took the shared model first; it joins the next collection.' });
      await sleep(pollMs, signal);
      return;
    }
    await ctx.importLatest(leader, PREFIX, undefined);
    ctx.publish({ stage: 'waiting', message: 'This device took the shared model first; it joins the collection that starts from it.' });
    return;
  }
  const delta = sharedDelta(shared);
  if (delta.length !== info.deltaLength)
    throw new ContributionError(`the collection sums changes of ${info.deltaLength} values; this model's change has ${delta.length}`);
  // 2. Both aggregators must run the task this device derives: a report built for other parameters would be refused
  // (or, with a larger N, accepted with more room than the user was shown).
  const params = protocol.params(delta.length, info);
  const algorithm = protocol.algorithm(params);
  const hex = (id: number) => `0x${id.toString(16)}`;
  for (const [role, client] of [
    ['leader', leader],
    ['helper', helper],
  ] as const) {
    const task = await client.json(`${PREFIX}/task`, taskSchema, signal);
    if (task.role !== role || task.length !== params.length || task.bits !== params.bits || task.normBound !== params.normBound) {
      throw new ContributionError(
        `the ${role} runs a task of ${task.length} entries × ${task.bits} bits, ‖x‖² ≤ ${task.normBound ?? 'unchecked'} (as ${task.role}); this device derives ${params.length} × ${params.bits}, ‖x‖² ≤ ${params.normBound}: not sending`,
      );
    }
    // the same proof algorithm (PINE on Field128 with one proof, or on Field64 with two): another's report is refused
    const mine = algorithm.uploadBytes[role];
    if ((task.algorithmId !== undefined && task.algorithmId !== algorithm.id) || (task.uploadBytes !== undefined && task.uploadBytes !== mine)) {
      throw new ContributionError(
        `the ${role} runs the proof algorithm ${task.algorithmId === undefined ? 'of another field' : hex(task.algorithmId)} (uploads of ${task.uploadBytes ?? '?'} bytes); this device builds ${hex(algorithm.id)} (${mine} bytes): not sending`,
      );
    }
  }
  // 3. The report, recorded for ε before it leaves, then one upload to each (the helper's first: a leader that took its
  // share for a collection that has just closed would otherwise verify it against nothing).
  const report = await protocol.report(delta, info, base64UrlDecode(info.rotationSeed));
  await ctx.recordRound(info.noiseMultiplier, { [SETTING_VERIFIABLE_SENT]: info.collectionId });
  await helper.json(`${PREFIX}/reports`, z.unknown(), signal, { method: 'POST', body: report.helper });
  await leader.json(`${PREFIX}/reports?collection=${encodeURIComponent(info.collectionId)}`, z.unknown(), signal, { method: 'POST', body: report.leader });
  ctx.publish({ stage: 'uploaded', roundId: info.collectionId, message: undefined });
  // 4. The collection's model, once the leader has collected and published it.
  for (;;) {
    await sleep(pollMs, signal);
    const now = await leader.json(`${PREFIX}/collection`, collectionSchema, signal);
    if (now.collectionId !== info.collectionId) break;
  }
  await ctx.importLatest(leader, PREFIX, info.collectionId);
}
