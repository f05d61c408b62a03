/**
 * The masked mode's round (contribute.ts describes its steps; the service is server/aggregator.ts): keys, encrypted
 * shares of the mask seeds, the masked vector, the consistency signatures, the unmasking shares, the published
 * model. The consent, the budget's record and the import are the Contributor's (RoundContext).
 */
import type { SharedModelState } from '../core/federated/client';
import type { PromisedNoise } from '../core/deployment';
import { z } from '../core/schema';
import {
  base64UrlDecode,
  ContributionError,
  registeredSchema,
  RoundAbandoned,
  roundSchema,
  sleep,
  type AggregatorClient,
  type RoundInfo,
  type RoundNoise,
} from './aggregator-client';
import { baseSha256, checkSameModel, IDLE_POLL_MS, sharedDelta, type DeviceProtocol, type RoundContext } from './contribute-round';

/** Refuses a round whose noise is weaker than the deployment promised the user (its ε would be larger). */
function checkNoise(promised: PromisedNoise, noise: RoundNoise): void {
  if (noise.noiseMultiplier < promised.noiseMultiplier || noise.dropoutTolerance < promised.dropoutTolerance) {
    throw new ContributionError(
      `the round's noise (σ = ${noise.noiseMultiplier}, dropouts tolerated ${noise.dropoutTolerance.toFixed(2)}) is weaker than this deployment promised (σ = ${promised.noiseMultiplier}, ${promised.dropoutTolerance.toFixed(2)}): not joining`,
    );
  }
}

export async function maskedRound(ctx: RoundContext, api: AggregatorClient, protocol: DeviceProtocol): Promise<void> {
  const { signal, pollMs: poll } = ctx;
  const before = ctx.state();
  ctx.publish({ stage: before.stage === 'done' ? 'done' : 'waiting', message: before.stage === 'error' ? undefined : before.message });
  // 1. A round that is taking keys, and a model to contribute from.
  let round: RoundInfo;
  let shared: SharedModelState | undefined;
  for (;;) {
    shared = ctx.sharedState();
    if (shared) {
      round = await api.json('/v1/round', roundSchema, signal);
      if (round.phase === 'keys' && round.roundId !== ctx.state().roundId) break;
    }
    // At the pace of a round's phases: a round takes keys from its first registration for one phase's length only.
    await sleep(shared ? poll : Math.max(poll, IDLE_POLL_MS), signal);
  }
  ctx.refreshContents();
  checkSameModel(shared, round, "the aggregator's rounds");
  checkNoise(ctx.promised, round.noise);
  // The lifetime budget (with the record as stored now): checked before the keys, so a round that would exceed it gets nothing.
  if (!(await ctx.mayJoin(round.noise.noiseMultiplier))) return;
  if ((await baseSha256(shared.global)) !== round.baseModelSha256) {
    // Another starting point: this device's change would be added to the wrong model. Take the published
    // model first (through the import path), then look at this round again: it is usually the round's
    // starting point, and a device that skipped the round would stay a round behind for as long as the
    // others complete rounds without it. Once per round: if the model still differs, a later round.
    if (ctx.caughtUp(round.roundId)) {
      ctx.publish({ stage: 'waiting', roundId: round.roundId, message: 'This device took the shared model first; it joins the next round.' });
      return;
    }
    await ctx.importLatest(api, '/v1', undefined);
    ctx.publish({ stage: 'waiting', message: 'This device took the shared model first; it joins the next round that starts from it.' });
    return;
  }
  const delta = sharedDelta(shared);
  const expectedLength = protocol.encodedLength(delta.length);
  if (round.vectorLength !== expectedLength) {
    throw new ContributionError(`the round sums vectors of ${round.vectorLength} values; this model's change has ${expectedLength}`);
  }
  const id = encodeURIComponent(round.roundId);
  // 2. Keys.
  const client = await protocol.createClient();
  const { index, token } = await api.json(`/v1/rounds/${id}/keys`, registeredSchema, signal, { method: 'POST', body: client.keysBody() });
  client.setIndex(index);
  ctx.publish({ stage: 'keys', roundId: round.roundId, message: undefined });
  try {
    // 3. Shares of the mask seeds, encrypted to each neighbour.
    await api.waitFor(round.roundId, 'shares', signal);
    const keys = await api.json(`/v1/rounds/${id}/keys`, z.unknown(), signal, { token });
    await api.json(`/v1/rounds/${id}/shares`, z.unknown(), signal, { method: 'POST', body: await client.sharesBody(keys), token });
    ctx.publish({ stage: 'shares' });
    // 4. The masked vector. ε is recorded before it leaves: a failure after sending must not undercount it.
    await api.waitFor(round.roundId, 'masked', signal);
    const received = await api.json(`/v1/rounds/${id}/shares`, z.unknown(), signal, { token });
    const input = protocol.encodeForSum(delta, round.noise, base64UrlDecode(round.rotationSeed));
    const body = await client.maskedBody(input, received);
    await ctx.recordRound(round.noise.noiseMultiplier);
    await api.json(`/v1/rounds/${id}/masked`, z.unknown(), signal, { method: 'POST', body, token });
    ctx.publish({ stage: 'masked' });
    // 5. Consistency: sign the survivor and dropped lists as the service gives them to this device.
    await api.waitFor(round.roundId, 'consistency', signal);
    const survivors = await api.json(`/v1/rounds/${id}/survivors`, z.unknown(), signal, { token });
    await api.json(`/v1/rounds/${id}/signature`, z.unknown(), signal, { method: 'POST', body: client.signatureBody(survivors), token });
    // 6. Unmasking, only if enough survivors signed the same lists: shares for the survivors' self-masks and the
    // dropped neighbours' pairwise masks.
    await api.waitFor(round.roundId, 'unmask', signal);
    const signatures = await api.json(`/v1/rounds/${id}/signatures`, z.unknown(), signal, { token });
    let unmask: unknown;
    try {
      unmask = client.unmaskBody(signatures);
    } catch (error) {
      throw new ContributionError(
        `This device refused to unmask its change in round ${round.roundId}: ${error instanceof Error ? error.message : String(error)}. Nothing that removes its masks was sent.`,
      );
    }
    await api.json(`/v1/rounds/${id}/unmask`, z.unknown(), signal, { method: 'POST', body: unmask, token });
    ctx.publish({ stage: 'unmask' });
    // 7. The published model.
    await api.waitFor(round.roundId, 'done', signal);
    await ctx.importLatest(api, '/v1', round.roundId);
  } catch (error) {
    if (error instanceof RoundAbandoned) {
      ctx.publish({ stage: 'waiting', lastRound: { roundId: round.roundId, outcome: 'abandoned' }, message: error.message });
      return;
    }
    throw error;
  }
}
