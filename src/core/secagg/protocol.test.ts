import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isConnected, neighbourGraph } from './graph';
import { type AdvertisedKeys, type EncryptedShare, SecAggClient, SecAggError, SecAggServer, type UnmaskShares, localThreshold, roundParams } from './protocol';
import type { RoundParams } from './params';
import { simulateRound } from './simulate';
import { agree, useWebCryptoX25519 } from './keys';
import { x25519 } from '@noble/curves/ed25519.js';

function randomInputs(n: number, L: number, seed: number): Uint32Array[] {
  let a = seed >>> 0;
  const next = () => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    return a;
  };
  return Array.from({ length: n }, () => Uint32Array.from({ length: L }, next));
}
function plainSum(inputs: readonly Uint32Array[], who: Iterable<number>): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  for (const i of who) for (let e = 0; e < sum.length; e++) sum[e] = (sum[e]! + inputs[i]![e]!) >>> 0;
  return sum;
}
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** A round driven by hand up to the masked uploads, for the tests that tamper with messages. */
async function upToMasked(n: number, L: number, opts: { neighbours?: number; dropBeforeMasked?: number[] } = {}) {
  const params = roundParams({ roundId: 'hand', cohortSize: n, vectorLength: L, neighbours: opts.neighbours });
  const clients = await Promise.all(range(n).map((i) => SecAggClient.create(i)));
  const keys = clients.map((c) => c.advertise());
  const shares = (await Promise.all(clients.map((c) => c.shareKeys(params, keys)))).flat();
  const inbox = (i: number) => shares.filter((s) => s.to === i);
  const inputs = randomInputs(n, L, 7);
  const masked = new Map<number, Uint32Array>();
  for (const c of clients) if (!opts.dropBeforeMasked?.includes(c.index)) masked.set(c.index, await c.maskInput(inputs[c.index]!, inbox(c.index)));
  const survivors = [...masked.keys()];
  const dropped = range(n).filter((i) => !masked.has(i));
  return { params, clients, keys, shares, inbox, inputs, masked, survivors, dropped };
}

describe('secure aggregation round', () => {
  it('masks cancel exactly: with no dropouts the decoded sum is the sum of the inputs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 3, max: 10 }), fc.integer({ min: 1, max: 40 }), fc.integer(), async (n, L, seed) => {
        const inputs = randomInputs(n, L, seed);
        const result = await simulateRound(inputs, { roundId: `p${seed >>> 0}` });
        expect(result.survivors).toEqual(range(n));
        expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, range(n))));
      }),
      { numRuns: 8 },
    );
  });

  it('hides each input: a masked vector shows nothing of its input (here: all-zero inputs give non-zero, differing uploads)', async () => {
    const { masked } = await upToMasked(8, 64);
    const ys = [...masked.values()];
    // With input x, y - x is the mask; with random x we check y != x, and that two devices' masks differ.
    const inputs = randomInputs(8, 64, 7);
    ys.forEach((y, i) => expect(y.some((v, e) => v !== inputs[i]![e])).toBe(true));
    expect(ys[0]).not.toEqual(ys[1]);
  });

  it('wraps mod 2^32 (inputs near 2^32)', async () => {
    const inputs = range(5).map(() => Uint32Array.from([0xffffffff, 0x80000000, 1]));
    const result = await simulateRound(inputs, { roundId: 'wrap' });
    expect(Array.from(result.sum)).toEqual([(5 * 0xffffffff) % 2 ** 32, (5 * 0x80000000) % 2 ** 32, 5]);
  });

  it('decodes the exact sum for any dropout pattern that leaves enough survivors (before or after the masked upload)', async () => {
    // Oracle, independent of the implementation's bookkeeping: decodable iff |S| >= t, S connected in the graph, every
    // survivor has >= t_local answering neighbours, and so does every dropped device with a surviving neighbour.
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 5, max: 14 }),
        fc.boolean(),
        fc.integer(),
        fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 16, maxLength: 16 }),
        async (n, sparse, seed, fate) => {
          const L = 5;
          const k = sparse && n >= 8 ? 4 : n - 1;
          const params = roundParams({ roundId: `d${seed >>> 0}`, cohortSize: n, vectorLength: L, neighbours: k });
          const limit = n - params.threshold + 1; // sometimes one more than allowed
          const before = new Set<number>();
          const after = new Set<number>();
          range(n).forEach((i) => {
            if (before.size + after.size >= limit) return;
            if (fate[i] === 1) before.add(i);
            if (fate[i] === 2) after.add(i);
          });
          const survivors = range(n).filter((i) => !before.has(i));
          const answering = survivors.filter((i) => !after.has(i));
          const graph = neighbourGraph(params);
          const tLocal = localThreshold(params);
          const enough = (j: number) => graph[j]!.filter((i) => answering.includes(i)).length >= tLocal;
          const decodable =
            survivors.length >= params.threshold &&
            isConnected(graph, survivors) &&
            survivors.every(enough) &&
            [...before].every((j) => !graph[j]!.some((i) => survivors.includes(i)) || enough(j));
          const inputs = randomInputs(n, L, seed);
          const run = simulateRound(inputs, { roundId: params.roundId, neighbours: k, dropBeforeMasked: before, dropAfterMasked: after });
          if (decodable) {
            const result = await run;
            expect(result.survivors).toEqual(survivors);
            expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, survivors)));
          } else {
            await expect(run).rejects.toThrow(SecAggError);
          }
        },
      ),
      { numRuns: 20 },
    );
  });

  it('a 30% dropout after the masked upload still decodes, to the same sum (n = 30, default k = 20; with the consistency round)', async () => {
    const n = 30;
    const inputs = randomInputs(n, 16, 30);
    const drop = new Set([1, 4, 5, 9, 13, 17, 22, 26, 29]);
    const result = await simulateRound(inputs, { roundId: 'thirty', dropAfterMasked: drop, consistency: true });
    expect(result.params.neighbours).toBe(20);
    expect(result.survivors).toHaveLength(n);
    expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, range(n))));
  });

  it("a 30% dropout before the masked upload decodes the survivors' sum (n = 60, sparse graph k = 24)", async () => {
    const n = 60;
    const inputs = randomInputs(n, 8, 60);
    const drop = new Set(range(n).filter((i) => i % 10 < 3));
    const result = await simulateRound(inputs, { roundId: 'hundred', dropBeforeMasked: drop });
    expect(result.params.neighbours).toBe(24);
    const survivors = range(n).filter((i) => !drop.has(i));
    expect(result.survivors).toEqual(survivors);
    expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, survivors)));
  });

  it('devices that never shared keys are left out cleanly', async () => {
    const inputs = randomInputs(12, 4, 12);
    const result = await simulateRound(inputs, { roundId: 'noshare', neighbours: 6, dropBeforeShares: new Set([2, 8]), dropAfterMasked: new Set([5]) });
    const survivors = range(12).filter((i) => i !== 2 && i !== 8);
    expect(result.survivors).toEqual(survivors);
    expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, survivors)));
  });

  it('refuses to decode with fewer survivors than the threshold: devices refuse to unmask, and so does the server', async () => {
    const n = 9; // t = 6
    const inputs = randomInputs(n, 4, 9);
    await expect(simulateRound(inputs, { roundId: 'few', dropBeforeMasked: new Set([0, 1, 2, 3]) })).rejects.toThrow(/needs 6/);
    const { params, clients, keys, masked, survivors, dropped } = await upToMasked(n, 4, { dropBeforeMasked: [0, 1, 2, 3] });
    expect(() => clients[5]!.unmask(survivors, dropped)).toThrow(SecAggError);
    // Even shares obtained by lying to devices about the survivors do not get the server past its own check.
    const lie = clients
      .filter((c) => masked.has(c.index))
      .map((c) =>
        c.unmask(
          [...survivors, 0],
          dropped.filter((j) => j !== 0),
        ),
      );
    await expect(new SecAggServer(params, keys).decode(masked, lie)).rejects.toThrow(/needs 6/);
  });

  it('catches tampered seed shares (commitment) and mask-key shares (public key recomputation); survives a single one', async () => {
    const { params, clients, keys, inputs, masked, survivors, dropped } = await upToMasked(9, 4, { dropBeforeMasked: [3] });
    const server = new SecAggServer(params, keys);
    const honest = clients.filter((c) => masked.has(c.index)).map((c) => c.unmask(survivors, dropped));
    /**
     * Corrupts every secret byte of the share of device `of` sent by the first `liars` answering devices that hold one.
     * Liar q adds error (q === 0 ? 1 : b + 1) to byte b, so two liars' errors can never cancel in the interpolation on
     * every byte (equal single-byte errors would, with probability about 1/255 per subset: a correct rebuild, but not
     * a test of detection).
     */
    const tamper = (kind: 'seedShares' | 'keyShares', of: number, liars: number): UnmaskShares[] => {
      let q = 0;
      return honest.map((m) => {
        if (q === liars || !m[kind].some((x) => x.of === of)) return m;
        const liar = q++;
        const corrupt = (share: Uint8Array) => share.map((b, bi) => (bi < 32 ? b ^ (liar === 0 ? 1 : bi + 1) : b));
        return { ...m, [kind]: m[kind].map((x) => (x.of === of ? { of, share: corrupt(x.share) } : x)) };
      });
    };
    const want = plainSum(inputs, survivors);
    // One bad share among more than t_local: left out, the round still decodes, exactly.
    expect(await server.decode(masked, tamper('seedShares', 5, 1))).toEqual(want);
    expect(await server.decode(masked, tamper('keyShares', 3, 1))).toEqual(want);
    // Two bad shares of one secret: caught, never decoded wrongly.
    await expect(server.decode(masked, tamper('seedShares', 5, 2))).rejects.toThrow(/commitment/);
    await expect(server.decode(masked, tamper('keyShares', 3, 2))).rejects.toThrow(/public key/);
    expect(await server.decode(masked, honest)).toEqual(want);
    // A share claimed for a device that is not the sender's neighbour, or a seed share of a dropped device: refused.
    const wrongKind = honest.map((m, idx) => (idx === 0 ? { ...m, seedShares: [...m.seedShares, { of: 3, share: m.keyShares[0]!.share }] } : m));
    await expect(server.decode(masked, wrongKind)).rejects.toThrow(SecAggError);
  });

  it('catches tampered or misrouted share envelopes before masking', async () => {
    const n = 6;
    const params = roundParams({ roundId: 'env', cohortSize: n, vectorLength: 2 });
    const clients = await Promise.all(range(n).map((i) => SecAggClient.create(i)));
    const keys = clients.map((c) => c.advertise());
    const shares = (await Promise.all(clients.map((c) => c.shareKeys(params, keys)))).flat();
    const to0 = shares.filter((s) => s.to === 0);
    const tampered: EncryptedShare[] = to0.map((s, i) => (i === 0 ? { ...s, ciphertext: s.ciphertext.map((b, bi) => (bi === 40 ? b ^ 1 : b)) } : s));
    await expect(clients[0]!.maskInput(new Uint32Array(2), tampered)).rejects.toThrow(/authentication/);
    // Re-addressed: a share sealed for device 1 handed to device 0 as if it were its own.
    const readdressed = to0.map((s) => (s.from === 2 ? { ...shares.find((x) => x.to === 1 && x.from === 2)!, to: 0 } : s));
    await expect(clients[0]!.maskInput(new Uint32Array(2), readdressed)).rejects.toThrow(/authentication/);
  });

  it('runs its steps once each and in order', async () => {
    const { params, clients, keys, inbox, inputs, survivors, dropped } = await upToMasked(5, 3);
    await expect(clients[0]!.maskInput(inputs[0]!, inbox(0))).rejects.toThrow(/cannot mask/); // a second masked upload
    await expect(clients[0]!.shareKeys(params, keys)).rejects.toThrow(SecAggError);
    expect(() => clients[1]!.unmask(survivors, [0, ...dropped])).toThrow(/both/);
    clients[0]!.unmask(survivors, dropped);
    expect(() => clients[0]!.unmask(survivors, dropped)).toThrow(/cannot unmask/); // a second answer (e.g. to other lists)
    // Concurrent calls: the second is refused while the first runs.
    const twice = await SecAggClient.create(0);
    const otherKeys = [twice.advertise(), ...keys.slice(1)];
    const first = twice.shareKeys(params, otherKeys);
    await expect(twice.shareKeys(params, otherKeys)).rejects.toThrow(/cannot share keys/);
    await first;
    const fresh = await SecAggClient.create(0);
    expect(() => fresh.unmask([0], [])).toThrow(SecAggError);
    await expect(fresh.maskInput(new Uint32Array(3), [])).rejects.toThrow(SecAggError);
  });

  it('takes the index the service assigns after registration, before sharing only', async () => {
    const clients = await Promise.all(range(4).map(() => SecAggClient.create(0)));
    const keys = clients.map((c, i) => {
      const advertised = c.advertise();
      c.assignIndex(i);
      return { ...advertised, index: i };
    });
    const params = roundParams({ roundId: 'assign', cohortSize: 4, vectorLength: 2 });
    expect(keys.map((k, i) => clients[i]!.advertise())).toEqual(keys);
    const shares = (await Promise.all(clients.map((c) => c.shareKeys(params, keys)))).flat();
    expect(() => clients[0]!.assignIndex(1)).toThrow(/cannot assign/);
    const inputs = randomInputs(4, 2, 4);
    const masked = new Map<number, Uint32Array>();
    for (const c of clients)
      masked.set(
        c.index,
        await c.maskInput(
          inputs[c.index]!,
          shares.filter((s) => s.to === c.index),
        ),
      );
    const answers = clients.map((c) => c.unmask(range(4), []));
    expect(await new SecAggServer(params, keys).decode(masked, answers)).toEqual(plainSum(inputs, range(4)));
  });

  it('checks the advertised keys before sharing', async () => {
    const params: RoundParams = roundParams({ roundId: 'keys', cohortSize: 4, vectorLength: 1 });
    const clients = await Promise.all(range(4).map((i) => SecAggClient.create(i)));
    const keys = clients.map((c) => c.advertise());
    const other = (await SecAggClient.create(0)).advertise();
    await expect(
      clients[0]!.shareKeys(
        params,
        keys.map((k, i) => (i === 0 ? { ...k, maskPublicKey: other.maskPublicKey } : k)),
      ),
    ).rejects.toThrow(/not this device's/);
    const swapped: AdvertisedKeys[] = keys.map((k, i) => (i === 0 ? { ...k, maskPublicKey: keys[1]!.maskPublicKey } : k));
    await expect(clients[2]!.shareKeys(params, swapped)).rejects.toThrow(/already uses/);
    await expect(clients[2]!.shareKeys(params, keys.slice(0, 3))).rejects.toThrow(/expected 4/);
    await expect(
      clients[2]!.shareKeys(
        params,
        keys.map((k) => ({ ...k, seedCommitment: new Uint8Array(31) })),
      ),
    ).rejects.toThrow(/32 bytes/);
  });

  it('the survivors must form one connected group before a device helps unmask', async () => {
    // n = 8, k = 2: a ring; dropping two opposite devices splits the survivors in two.
    const n = 8;
    const params = roundParams({ roundId: 'ring', cohortSize: n, vectorLength: 1, neighbours: 2 });
    const graph = neighbourGraph(params);
    // Walk the ring to find two devices 4 apart.
    const ring = [0];
    while (ring.length < n) ring.push(graph[ring.at(-1)!]!.find((j) => !ring.includes(j))!);
    const drop = new Set([ring[0]!, ring[4]!]);
    const survivors = range(n).filter((i) => !drop.has(i));
    expect(isConnected(graph, survivors)).toBe(false);
    await expect(simulateRound(randomInputs(n, 1, 8), { roundId: 'ring', neighbours: 2, threshold: 6, dropBeforeMasked: drop })).rejects.toThrow(/connected/);
  });

  it('the server refuses unmask answers that contradict each other about whether a device shared', async () => {
    const { params, clients, keys, masked, survivors, dropped } = await upToMasked(9, 2, { dropBeforeMasked: [4] });
    const answers = clients.filter((c) => masked.has(c.index)).map((c) => c.unmask(survivors, dropped));
    const contradictory = answers.map((m, idx) => (idx === 0 ? { ...m, keyShares: [] } : m));
    await expect(new SecAggServer(params, keys).decode(masked, contradictory)).rejects.toThrow(/inconsistent/);
    await expect(new SecAggServer(params, keys).decode(masked, answers, new Set(range(9).filter((i) => i !== 4)))).rejects.toThrow(/not among/);
    // Decoding from the sum of the masked vectors (the service's batched form) gives the same result as from the map.
    const sum = new Uint32Array(2);
    for (const y of masked.values()) for (let e = 0; e < 2; e++) sum[e] = (sum[e]! + y[e]!) >>> 0;
    const server = new SecAggServer(params, keys);
    expect(await server.decode({ sum, survivors }, answers, new Set(range(9)))).toEqual(await server.decode(masked, answers));
  });

  it('reports the cost of a device (bytes up, compute time)', async () => {
    const L = 1000;
    const result = await simulateRound(randomInputs(10, L, 1), { roundId: 'cost' });
    expect(result.bytesUp.maskedBinary).toBe(4 * L);
    expect(result.bytesUp.masked).toBeGreaterThanOrEqual(Math.ceil((16 * L) / 3));
    expect(result.bytesUp.masked).toBeLessThan(Math.ceil((16 * L) / 3) + 20);
    expect(result.bytesUp.keys).toBeGreaterThan(3 * 43);
    expect(result.bytesUp.shares).toBeGreaterThan(9 * 126); // one 94-byte envelope per neighbour (k = 9)
    expect(result.bytesUpPerDevice).toBeCloseTo(result.bytesUp.keys + result.bytesUp.shares + result.bytesUp.masked + result.bytesUp.unmask);
    expect(result.msPerDevice).toBeGreaterThan(0);
  });

  it('X25519 in WebCrypto and in @noble/curves agree, and a round runs on the pure-JS fallback too', async () => {
    for (let trial = 0; trial < 5; trial++) {
      const a = x25519.utils.randomSecretKey();
      const B = x25519.getPublicKey(x25519.utils.randomSecretKey());
      expect(await agree(a, B, 'test')).toEqual(x25519.getSharedSecret(a, B));
    }
    await expect(agree(x25519.utils.randomSecretKey(), new Uint8Array(32), 'zero key')).rejects.toThrow(/low-order/);
    useWebCryptoX25519(false);
    try {
      await expect(agree(x25519.utils.randomSecretKey(), new Uint8Array(32), 'zero key')).rejects.toThrow(/low-order/);
      const inputs = randomInputs(6, 3, 6);
      const result = await simulateRound(inputs, { roundId: 'noble', dropBeforeMasked: new Set([1]) });
      expect(Array.from(result.sum)).toEqual(Array.from(plainSum(inputs, [0, 2, 3, 4, 5])));
    } finally {
      useWebCryptoX25519(undefined);
    }
  });
});
