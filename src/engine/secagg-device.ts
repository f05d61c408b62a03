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
  encodeMaskedRequest,
  encodeSharesRequest,
  encodeUnmaskRequest,
} from '../core/secagg/messages';
import { SecAggClient, type RoundParams } from '../core/secagg/protocol';
import type { DeviceProtocol, RoundClient, RoundNoise } from './contribute';

const KEY_MATERIAL_BYTES = 32;

/**
 * SecAggClient.create takes the device's index, which the service assigns only in its answer to the
 * public keys. The keys are drawn once, here; the client is made again with the assigned index from the
 * same draws (its first three 32-byte draws are its secret keys and seed), so what the service registered
 * is what the client uses. Everything drawn after them (nonces) comes from the platform CSPRNG.
 */
async function clientFor(index: number, material: readonly Uint8Array[]): Promise<SecAggClient> {
  let next = 0;
  return SecAggClient.create(index, (bytes) => {
    const drawn = next < material.length && bytes === KEY_MATERIAL_BYTES ? material[next++] : undefined;
    return drawn ? Uint8Array.from(drawn) : globalThis.crypto.getRandomValues(new Uint8Array(bytes));
  });
}

class DeviceRound implements RoundClient {
  private client: SecAggClient | undefined;
  private params: RoundParams | undefined;
  private index = 0;

  constructor(
    private readonly material: readonly Uint8Array[],
    private readonly advertised: SecAggClient,
  ) {}

  keysBody(): unknown {
    const { encryptionPublicKey, maskPublicKey, seedCommitment } = this.advertised.advertise();
    return encodeKeysRequest({ index: 0, encryptionPublicKey, maskPublicKey, seedCommitment });
  }

  setIndex(index: number): void {
    this.index = index;
  }

  private async ready(): Promise<SecAggClient> {
    this.client ??= await clientFor(this.index, this.material);
    return this.client;
  }

  async sharesBody(keysAnswer: unknown): Promise<unknown> {
    const { params, keys } = decodeKeysResponse(keysAnswer);
    this.params = params;
    const client = await this.ready();
    return encodeSharesRequest(await client.shareKeys(params, keys));
  }

  async maskedBody(input: Uint32Array, sharesAnswer: unknown): Promise<unknown> {
    if (!this.params) throw new Error('the round’s parameters are not known yet');
    const received = decodeSharesResponse(sharesAnswer, this.index, this.params);
    return encodeMaskedRequest(await (await this.ready()).maskInput(input, received));
  }

  unmaskBody(survivorsAnswer: unknown): unknown {
    if (!this.params || !this.client) throw new Error('this device has not masked its input in this round');
    const { survivors, dropped } = decodeSurvivorsResponse(survivorsAnswer, this.params);
    return encodeUnmaskRequest(this.client.unmask(survivors, dropped));
  }
}

const settings = (noise: RoundNoise): DistributedNoiseSettings => ({ ...noise });

export function deviceProtocol(): DeviceProtocol {
  return {
    async createClient() {
      // A fresh draw for every round: nothing is reused across rounds.
      const material = [0, 1, 2].map(() => globalThis.crypto.getRandomValues(new Uint8Array(KEY_MATERIAL_BYTES)));
      return new DeviceRound(material, await clientFor(0, material));
    },
    encodeForSum: (delta, noise, rotationSeed) => encodeForSum(delta, settings(noise), rotationSeed),
    encodedLength,
    epsilon: (noise, rounds, delta, dimension) => distributedEpsilon(settings(noise), rounds, delta, dimension),
  };
}
