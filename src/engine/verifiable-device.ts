/**
 * The device's proof for the verifiable mode (engine/contribute-verifiable.ts): the app's task
 * (core/secagg/verifiable-app.ts), the encoding (core/secagg/verifiable/encode.ts: clip, scale γ_v, rotate, round;
 * noise placement 'aggregators', so none here) and the report with PINE's norm proof (verifiable/prio.ts buildReport,
 * @divviup/prio3 underneath). A chunk of its own: loaded only where the deployment names a verifiable pair.
 */
import { appVerifiableEpsilon, appVerifiableTask } from '../core/secagg/verifiable-app';
import { encodeForVerifiable } from '../core/secagg/verifiable/encode';
import { buildReport, makeVdaf, uploadSizes, type VerifiableParams, type VerifiableVdaf } from '../core/secagg/verifiable/prio';
import { ContributionError } from './aggregator-client';
import type { VerifiableProtocol } from './contribute-verifiable';

export function verifiableProtocol(): VerifiableProtocol {
  // The proof's circuit for one set of parameters (its tables take a while to build): kept while they hold.
  let cached: { key: string; vdaf: VerifiableVdaf } | undefined;
  const vdafFor = (params: VerifiableParams): VerifiableVdaf => {
    const key = JSON.stringify(params);
    if (cached?.key !== key) cached = { key, vdaf: makeVdaf(params) };
    return cached.vdaf;
  };
  return {
    params: (deltaLength, noise) => appVerifiableTask(deltaLength, noise).params,
    algorithm: (params) => {
      const vdaf = vdafFor(params);
      return { id: vdaf.id, uploadBytes: uploadSizes(params, vdaf) };
    },
    report: async (delta, noise, rotationSeed) => {
      const { settings, params } = appVerifiableTask(delta.length, noise);
      const vdaf = vdafFor(params);
      const { values, clamped } = encodeForVerifiable(delta, settings, rotationSeed);
      if (clamped > 0) console.warn(`verifiable mode: ${clamped} entries of this update were clamped to the proof's range (a tail event)`);
      try {
        const { leader, helper } = await buildReport(params, values, vdaf);
        return { leader: Uint8Array.from(leader), helper: Uint8Array.from(helper) };
      } catch (error) {
        // PINE's wraparound checks fail for an honest vector with probability < 2^−100 (pine.ts): nothing was sent.
        throw new ContributionError(`this device could not build its report: ${error instanceof Error ? error.message : String(error)}; nothing was sent`);
      }
    },
    epsilon: (noise, rounds, delta, dimension) => appVerifiableEpsilon(noise, rounds, delta, dimension),
  };
}
