/**
 * The device's protocol for "Contribute to the shared model" (engine/contribute.ts): helper A's
 * SecAggClient and wire codecs (core/secagg/protocol.ts, messages.ts) and helper B's distributed
 * discrete Gaussian encoding and accountant (core/secagg/encode.ts, accountant.ts). A chunk of its own:
 * loaded only where the deployment names an aggregator.
 */
import { distributedEpsilon } from '../core/secagg/accountant';
import { encodedLength, encodeForSum, type DistributedNoiseSettings } from '../core/secagg/encode';
import {
  decodeKeysResponse,
  decodeSharesResponse,
  decodeSurvivorsResponse,
  encodeKeysRequest,
  encodeSharesRequest,
  encodeUnmaskRequest,
  u32ToBytes,
} from '../core/secagg/messages';
import { SecAggClient, type RoundParams } from '../core/secagg/protocol';
import type { DeviceProtocol, RoundClient, RoundNoise } from './contribute';

class DeviceRound implements RoundClient {
  private params: RoundParams | undefined;

  /** A fresh client (new keys, new seed) for every round: nothing is reused across rounds. */
  constructor(private readonly client: SecAggClient) {}

  keysBody(): unknown {
    return encodeKeysRequest(this.client.advertise());
  }

  /** The service assigns the index in its answer to the keys (SecAggClient takes it before it shares). */
  setIndex(index: number): void {
    this.client.assignIndex(index);
  }

  async sharesBody(keysAnswer: unknown): Promise<unknown> {
    const { params, keys } = decodeKeysResponse(keysAnswer);
    this.params = params;
    return encodeSharesRequest(await this.client.shareKeys(params, keys));
  }

  async maskedBody(input: Uint32Array, sharesAnswer: unknown): Promise<Uint8Array<ArrayBuffer>> {
    if (!this.params) throw new Error('the round’s parameters are not known yet');
    const received = decodeSharesResponse(sharesAnswer, this.client.index, this.params);
    // Raw u32 little-endian: a third fewer bytes than base64url JSON (the upload target is 1.2× the plaintext).
    return Uint8Array.from(u32ToBytes(await this.client.maskInput(input, received)));
  }

  unmaskBody(survivorsAnswer: unknown): unknown {
    if (!this.params) throw new Error('this device has not masked its input in this round');
    const { survivors, dropped } = decodeSurvivorsResponse(survivorsAnswer, this.params);
    return encodeUnmaskRequest(this.client.unmask(survivors, dropped));
  }
}

const settings = (noise: RoundNoise): DistributedNoiseSettings => ({ ...noise });

export function deviceProtocol(): DeviceProtocol {
  return {
    createClient: async () => new DeviceRound(await SecAggClient.create(0)),
    encodeForSum: (delta, noise, rotationSeed) => encodeForSum(delta, settings(noise), rotationSeed),
    encodedLength,
    epsilon: (noise, rounds, delta, dimension) => distributedEpsilon(settings(noise), rounds, delta, dimension),
  };
}
