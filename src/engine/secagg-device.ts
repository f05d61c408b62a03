/**
 * The device's protocol for "Contribute to the shared model" (engine/contribute.ts): helper A's
 * SecAggClient and wire codecs (core/secagg/protocol.ts, messages.ts), the consistency round
 * (core/secagg/consistency.ts: the device signs the survivor lists it is told and unmasks only with at least
 * t signatures over exactly those lists), and helper B's distributed discrete Gaussian encoding and
 * accountant (core/secagg/encode.ts, accountant.ts). A chunk of its own: loaded only where the deployment
 * names an aggregator.
 */
import { distributedEpsilon } from '../core/secagg/accountant';
import { encodedLength, encodeForSum, type DistributedNoiseSettings } from '../core/secagg/encode';
import { checkConsistency, SurvivorSigner } from '../core/secagg/consistency';
import {
  decodeKeysResponse,
  decodeSharesResponse,
  decodeSignaturesResponse,
  decodeSurvivorsResponse,
  encodeKeysRequest,
  encodeSharesRequest,
  encodeSignatureRequest,
  encodeUnmaskRequest,
  u32ToBytes,
} from '../core/secagg/messages';
import { SecAggClient, type RoundParams } from '../core/secagg/protocol';
import type { DeviceProtocol, RoundClient, RoundNoise } from './contribute';

class DeviceRound implements RoundClient {
  private params: RoundParams | undefined;
  private signingKeys = new Map<number, Uint8Array>();
  /** The survivor and dropped lists this device signed: the only ones it unmasks with. */
  private signed: { survivors: number[]; dropped: number[] } | undefined;

  /** A fresh client and signing key (new keys, new seed) for every round: nothing is reused across rounds. */
  constructor(
    private readonly client: SecAggClient,
    private readonly signer: SurvivorSigner,
  ) {}

  keysBody(): unknown {
    return encodeKeysRequest({ ...this.client.advertise(), signingPublicKey: this.signer.publicKey });
  }

  /** The service assigns the index in its answer to the keys (SecAggClient takes it before it shares). */
  setIndex(index: number): void {
    this.client.assignIndex(index);
  }

  async sharesBody(keysAnswer: unknown): Promise<unknown> {
    const { params, keys } = decodeKeysResponse(keysAnswer);
    const own = keys[this.client.index]?.signingPublicKey;
    const mine = this.signer.publicKey;
    if (!own || own.length !== mine.length || own.some((b, i) => b !== mine[i]))
      throw new Error(`the signing key listed for device ${this.client.index} is not this device's`);
    this.params = params;
    this.signingKeys = new Map(keys.map((k) => [k.index, k.signingPublicKey]));
    return encodeSharesRequest(await this.client.shareKeys(params, keys));
  }

  async maskedBody(input: Uint32Array, sharesAnswer: unknown): Promise<Uint8Array<ArrayBuffer>> {
    if (!this.params) throw new Error('the round’s parameters are not known yet');
    const received = decodeSharesResponse(sharesAnswer, this.client.index, this.params);
    // Raw u32 little-endian: a third fewer bytes than base64url JSON (the upload target is 1.2× the plaintext).
    return Uint8Array.from(u32ToBytes(await this.client.maskInput(input, received)));
  }

  signatureBody(survivorsAnswer: unknown): unknown {
    if (!this.params) throw new Error('this device has not masked its input in this round');
    const lists = decodeSurvivorsResponse(survivorsAnswer, this.params);
    const signature = this.signer.sign(this.client.index, this.params.roundId, lists.survivors, lists.dropped);
    this.signed = lists;
    return encodeSignatureRequest(signature);
  }

  unmaskBody(signaturesAnswer: unknown): unknown {
    if (!this.params || !this.signed) throw new Error('this device has not signed the survivor lists in this round');
    const { survivors, dropped } = this.signed;
    // Throws unless at least t survivors signed exactly these lists and a random sample of their signatures verifies
    // (a server that told devices different lists cannot gather that without forging some; the sample finds them).
    checkConsistency({
      roundId: this.params.roundId,
      threshold: this.params.threshold,
      survivors,
      dropped,
      signingKeys: this.signingKeys,
      signatures: decodeSignaturesResponse(signaturesAnswer, this.params),
      signer: this.signer,
    });
    return encodeUnmaskRequest(this.client.unmask(survivors, dropped));
  }
}

const settings = (noise: RoundNoise): DistributedNoiseSettings => ({ ...noise });

export function deviceProtocol(): DeviceProtocol {
  return {
    createClient: async () => new DeviceRound(await SecAggClient.create(0), SurvivorSigner.create()),
    encodeForSum: (delta, noise, rotationSeed) => encodeForSum(delta, settings(noise), rotationSeed),
    encodedLength,
    epsilon: (noise, rounds, delta, dimension) => distributedEpsilon(settings(noise), rounds, delta, dimension),
  };
}
