import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { neighbourGraph } from './graph';
import {
  bytesToU32,
  decodeKeysRequest,
  decodeKeysResponse,
  decodeMaskedBinary,
  decodeMaskedRequest,
  decodeSharesRequest,
  decodeSharesResponse,
  decodeSignatureRequest,
  decodeSignaturesResponse,
  decodeSurvivorsResponse,
  decodeUnmaskRequest,
  encodeKeysRequest,
  encodeKeysResponse,
  encodeMaskedRequest,
  encodeSharesRequest,
  encodeSharesResponse,
  encodeSignatureRequest,
  encodeSignaturesResponse,
  encodeUnmaskRequest,
  fromBase64url,
  toBase64url,
  u32ToBytes,
} from './messages';
import { SurvivorSigner } from './consistency';
import { SecAggClient, SecAggError, roundParams } from './protocol';

const wire = (body: unknown): unknown => JSON.parse(JSON.stringify(body));

describe('base64url', () => {
  it("matches Node's encoder and round-trips, at any length (chunk boundaries included)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 70_000 }), (bytes) => {
        const text = toBase64url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(fromBase64url(text)).toEqual(bytes);
      }),
      { numRuns: 40 },
    );
  });

  it('refuses padding, other alphabets, impossible lengths and non-canonical trailing bits', () => {
    expect(() => fromBase64url('AAA=')).toThrow(SecAggError);
    expect(() => fromBase64url('AA+/')).toThrow(SecAggError);
    expect(() => fromBase64url('AAAAA')).toThrow(SecAggError);
    expect(() => fromBase64url('AB')).toThrow(/canonical/); // 'AB' has non-zero bits past the one byte it carries
    expect(fromBase64url('AA')).toEqual(new Uint8Array([0]));
  });

  it('carries u32 little-endian', () => {
    const v = Uint32Array.from([1, 0xdeadbeef, 0xffffffff]);
    expect(Array.from(u32ToBytes(v).subarray(0, 8))).toEqual([1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde]);
    expect(bytesToU32(u32ToBytes(v))).toEqual(v);
    expect(() => bytesToU32(new Uint8Array(5))).toThrow(SecAggError);
  });
});

describe('wire messages', async () => {
  const n = 8;
  const params = roundParams({ roundId: 'wire-1', cohortSize: n, vectorLength: 5, neighbours: 4 });
  const graph = neighbourGraph(params);
  const clients = await Promise.all(Array.from({ length: n }, (_, i) => SecAggClient.create(i)));
  const keys = clients.map((c) => ({ ...c.advertise(), signingPublicKey: SurvivorSigner.create().publicKey }));
  const shares = await Promise.all(clients.map((c) => c.shareKeys(params, keys)));

  it('keys: round trip; wrong lengths, extra fields, bad characters and low-order keys refused', () => {
    const body = wire(encodeKeysRequest(keys[3]!));
    expect(decodeKeysRequest(body, 3)).toEqual(keys[3]);
    const good = encodeKeysRequest(keys[3]!);
    expect(() => decodeKeysRequest({ ...good, maskPublicKey: good.maskPublicKey.slice(1) }, 3)).toThrow(/maskPublicKey must be 32 bytes/);
    expect(() => decodeKeysRequest({ ...good, extra: 1 }, 3)).toThrow(SecAggError);
    expect(() => decodeKeysRequest({ ...good, seedCommitment: `${good.seedCommitment.slice(1)}+` }, 3)).toThrow(/base64url/);
    expect(() => decodeKeysRequest({ ...good, encryptionPublicKey: toBase64url(new Uint8Array(32)) }, 3)).toThrow(/usable/);
    expect(() => decodeKeysRequest({ encryptionPublicKey: good.encryptionPublicKey }, 3)).toThrow(SecAggError);
    expect(() => decodeKeysRequest('nope', 3)).toThrow(SecAggError);
    // The signing key: required, 32 bytes, a point of the curve and not of small order (the identity's encoding is 1, 0, …, 0).
    const { signingPublicKey: _, ...unsigned } = good;
    expect(() => decodeKeysRequest(unsigned, 3)).toThrow(/signingPublicKey/);
    const identity = new Uint8Array(32);
    identity[0] = 1;
    expect(() => decodeKeysRequest({ ...good, signingPublicKey: toBase64url(identity) }, 3)).toThrow(/small-order/);
    const notAPoint = new Uint8Array(32).fill(0xff);
    notAPoint[31] = 0x7f;
    expect(() => decodeKeysRequest({ ...good, signingPublicKey: toBase64url(notAPoint) }, 3)).toThrow(/not an Ed25519 public key|small-order/);
  });

  it('signatures: 64 bytes each; the relayed list holds devices of the round, each once', () => {
    const signature = new Uint8Array(64).fill(9);
    expect(decodeSignatureRequest(wire(encodeSignatureRequest({ from: 2, signature })), 2)).toEqual({ from: 2, signature });
    expect(() => decodeSignatureRequest({ signature: toBase64url(signature.subarray(1)) }, 2)).toThrow(/signature must be 64 bytes/);
    expect(() => decodeSignatureRequest({ signature: toBase64url(signature), survivors: [1] }, 2)).toThrow(SecAggError);
    const list = [
      { from: 0, signature },
      { from: 5, signature },
    ];
    expect(decodeSignaturesResponse(wire(encodeSignaturesResponse(list)), params)).toEqual(list);
    expect(() => decodeSignaturesResponse(encodeSignaturesResponse([...list, list[0]!]), params)).toThrow(/two signatures from device 0/);
    expect(() => decodeSignaturesResponse(encodeSignaturesResponse([{ from: 8, signature }]), params)).toThrow(/not in a cohort/);
  });

  it('keys response: round trip with the round parameters; inconsistent lists refused', () => {
    const decoded = decodeKeysResponse(wire(encodeKeysResponse(params, keys)));
    expect(decoded.params).toEqual(params);
    expect(decoded.keys).toEqual(keys);
    expect(() => decodeKeysResponse(wire(encodeKeysResponse(params, keys.slice(1))))).toThrow(SecAggError);
    expect(() => decodeKeysResponse(wire(encodeKeysResponse({ ...params, threshold: 2 }, keys)))).toThrow(/threshold/);
  });

  it('shares: exactly one envelope per neighbour of the sender, each 94 bytes', () => {
    const mine = shares[2]!;
    expect(decodeSharesRequest(wire(encodeSharesRequest(mine)), 2, params)).toEqual(mine);
    expect(() => decodeSharesRequest(wire(encodeSharesRequest(mine.slice(1))), 2, params)).toThrow(/expected one for each/);
    expect(() => decodeSharesRequest(wire(encodeSharesRequest([...mine, mine[0]!])), 2, params)).toThrow(/two shares/);
    const stranger = [0, 1, 3, 4, 5, 6, 7].find((j) => !graph[2]!.includes(j))!;
    expect(() => decodeSharesRequest(wire(encodeSharesRequest(mine.map((s, i) => (i === 0 ? { ...s, to: stranger } : s)))), 2, params)).toThrow(
      /not a neighbour/,
    );
    const body = encodeSharesRequest(mine);
    body.shares[0]!.ciphertext = body.shares[0]!.ciphertext.slice(2);
    expect(() => decodeSharesRequest(body, 2, params)).toThrow(/94 bytes/);
    expect(() => decodeSharesRequest({ shares: [] }, 99, params)).toThrow(/not in this round/);
  });

  it('shares response: what device j downloads', () => {
    const toOne = shares.flat().filter((s) => s.to === 1);
    expect(decodeSharesResponse(wire(encodeSharesResponse(toOne)), 1, params)).toEqual(toOne);
    const stranger = [0, 2, 3, 4, 5, 6, 7].find((j) => !graph[1]!.includes(j))!;
    expect(() => decodeSharesResponse({ shares: [{ from: stranger, ciphertext: toBase64url(new Uint8Array(94)) }] }, 1, params)).toThrow(/not a neighbour/);
  });

  it('masked: exactly L u32, as base64url JSON or as raw bytes', () => {
    const y = Uint32Array.from([1, 2, 3, 0xffffffff, 0]);
    expect(decodeMaskedRequest(wire(encodeMaskedRequest(y)), params)).toEqual(y);
    expect(() => decodeMaskedRequest(encodeMaskedRequest(y.subarray(0, 4)), params)).toThrow(/expected 5 u32/);
    expect(() => decodeMaskedRequest({ masked: '' }, params)).toThrow(SecAggError);
    expect(decodeMaskedBinary(u32ToBytes(y), params)).toEqual(y);
    expect(() => decodeMaskedBinary(new Uint8Array(16), params)).toThrow(/expected 20 bytes/);
  });

  it('survivors: indices inside the cohort', () => {
    expect(decodeSurvivorsResponse({ survivors: [0, 1], dropped: [2] }, params)).toEqual({ survivors: [0, 1], dropped: [2] });
    expect(() => decodeSurvivorsResponse({ survivors: [0, 8], dropped: [] }, params)).toThrow(/not in a cohort/);
    expect(() => decodeSurvivorsResponse({ survivors: [0.5], dropped: [] }, params)).toThrow(SecAggError);
  });

  it("unmask: shares of the sender's neighbours only, once each, 33 bytes each", () => {
    const share = new Uint8Array(33).fill(7);
    const [a, b] = graph[4]!;
    const u = { from: 4, seedShares: [{ of: a!, share }], keyShares: [{ of: b!, share }] };
    expect(decodeUnmaskRequest(wire(encodeUnmaskRequest(u)), 4, params)).toEqual(u);
    expect(() => decodeUnmaskRequest(encodeUnmaskRequest({ ...u, keyShares: [{ of: a!, share }] }), 4, params)).toThrow(/two shares/);
    const stranger = [0, 1, 2, 3, 5, 6, 7].find((j) => !graph[4]!.includes(j))!;
    expect(() => decodeUnmaskRequest(encodeUnmaskRequest({ ...u, keyShares: [{ of: stranger, share }] }), 4, params)).toThrow(/not a neighbour/);
    expect(() => decodeUnmaskRequest(encodeUnmaskRequest({ ...u, keyShares: [{ of: b!, share: share.subarray(1) }] }), 4, params)).toThrow(/33 bytes/);
  });
});
