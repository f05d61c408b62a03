import { describe, expect, it } from 'vitest';
import type { CatalogItem } from './catalog';
import { CatalogIndex } from './catalog-index';
import type { CatalogView } from './catalog-view';
import {
  COLUMNS_MAGIC,
  ColumnsError,
  columnsHeaderEnd,
  columnsTitlesAt,
  decodeColumns,
  decodeKeptColumns,
  encodeColumns,
  readColumnsHeader,
  type ColumnsProblem,
  type KeptColumnsRecord,
} from './catalog-columns';
import { popularityScores } from './rank';

const info = { name: 'shop', license: 'CC0', rowShardItems: 4 };

function items(n: number): CatalogItem[] {
  return Array.from({ length: n }, (_, i) => ({
    id: i === 3 ? 'é-3 ünïcode' : `p${i}`,
    title: i === 5 ? '一部轻松的喜剧' : `Title number ${i}`,
    text: `Title number ${i} by Someone`,
    ...(i % 2 === 0 ? { byline: 'Someone' } : {}),
    ...(i % 3 === 0 ? { genres: ['fantasy', i % 2 ? 'horror' : 'young-adult'] } : {}),
    ...(i % 4 !== 1 ? { year: 1900 + i * 7 } : {}),
    ...(i % 5 !== 2 ? { popularity: i * 13.5 } : {}),
  }));
}

async function rejects(bytes: Uint8Array, reason: ColumnsProblem, words: RegExp, fingerprint?: string): Promise<void> {
  const error = await decodeColumns(bytes, fingerprint, 'shop.columns').catch((e: unknown) => e);
  expect(error).toBeInstanceOf(ColumnsError);
  expect((error as ColumnsError).reason).toBe(reason);
  expect((error as ColumnsError).message).toMatch(/^shop\.columns: /);
  expect((error as ColumnsError).message).toMatch(words);
}

/** Replaces the header's JSON (same framing), keeping the payload. */
function withHeader(file: Uint8Array, edit: (header: Record<string, unknown>) => void): Uint8Array {
  const { header, payloadStart } = readColumnsHeader(file);
  const json = { ...header } as Record<string, unknown>;
  edit(json);
  const bytes = new TextEncoder().encode(JSON.stringify(json));
  const start = Math.ceil((12 + bytes.length) / 4) * 4;
  const out = new Uint8Array(start + file.length - payloadStart);
  out.set(COLUMNS_MAGIC);
  new DataView(out.buffer).setUint32(8, bytes.length, true);
  out.set(bytes, 12);
  out.set(file.subarray(payloadStart), start);
  return out;
}

describe('catalog columns', () => {
  it('round-trip: every column reads back as the catalog index computes it from the items', async () => {
    const list = items(23);
    const columns = await decodeColumns(await encodeColumns(info, list));
    const index = new CatalogIndex(list);
    expect(columns.size).toBe(23);
    expect(columns.fingerprint).toBe(index.fingerprint());
    expect(columns.header).toMatchObject({ name: 'shop', license: 'CC0', rowShardItems: 4 });
    for (let i = 0; i < list.length; i++) {
      expect(columns.id(i)).toBe(list[i]!.id);
      expect(columns.title(i)).toBe(list[i]!.title);
      expect(columns.year(i)).toBe(list[i]!.year);
      expect(columns.genres(i)).toEqual(list[i]!.genres ?? []);
      expect(columns.textHash(i)).toBe(index.hashes[i]);
      expect(columns.indexOf(list[i]!.id)).toBe(i);
    }
    // Both answer the engine's CatalogView alike.
    const views: CatalogView[] = [index, columns];
    for (let i = 0; i < list.length; i++) {
      const [a, b] = views.map((view) => [view.indexOf(list[i]!.id), view.title(i), view.textHash(i)]);
      expect(b).toEqual(a);
    }
    expect(views.map((view) => [view.size, view.indexOf('p999')])).toEqual([
      [23, undefined],
      [23, undefined],
    ]);
    expect(columns.indexOf('p999')).toBeUndefined();
    expect(columns.indexOf('p1 ')).toBeUndefined();
    expect(Array.from(columns.popularityPrior())).toEqual(Array.from(popularityScores(list)));
    expect(Array.from(columns.recency())).toEqual(Array.from(index.recency));
    // The file is checked against the fingerprint the vector shards name.
    await expect(decodeColumns(await encodeColumns(info, list), index.fingerprint())).resolves.toBeTruthy();
  });

  it("the popularity prior is the ranker's bit for bit over values spread across magnitudes, with and without a popularity", async () => {
    // Float32-exact values (the column stores float32): tiny, fractional, large, equal, none.
    let seed = 11;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const list = items(3000).map((item, i) => {
      const { popularity: _, year: __, ...rest } = item;
      const draw = next();
      if (i % 9 === 0) return rest;
      return { ...rest, popularity: Math.fround((draw % 100_000) * 10 ** ((draw >>> 20) % 7) * 1e-3) };
    });
    const columns = await decodeColumns(await encodeColumns(info, list));
    expect(Array.from(columns.popularityPrior())).toEqual(Array.from(popularityScores(list)));
    // No item with a popularity above 0: every prior 0, as the ranker's.
    const flat = await decodeColumns(
      await encodeColumns(
        info,
        items(5).map((item) => ({ ...item, popularity: 0 })),
      ),
    );
    expect(Array.from(flat.popularityPrior())).toEqual([0, 0, 0, 0, 0]);
  });

  it('refuses each kind of damage with a reason and a message naming the file', async () => {
    const file = await encodeColumns(info, items(23));
    await rejects(new TextEncoder().encode('{"format":"private-recs-catalog"}'), 'not-columns', /wrong magic bytes/);
    await rejects(file.subarray(0, 10), 'truncated', /truncated: 10 bytes/);
    await rejects(file.subarray(0, 40), 'truncated', /header claims/);
    await rejects(file.subarray(0, file.length - 1), 'truncated', /truncated: .* expected/);
    await rejects(Uint8Array.from([...file, 0]), 'too-long', /longer than/);
    const flipped = file.slice();
    flipped[flipped.length - 3]! ^= 0x20;
    await rejects(flipped, 'bad-checksum', /SHA-256/);
    await rejects(
      withHeader(file, (h) => (h.version = 2)),
      'newer-version',
      /version 2/,
    );
    await rejects(
      withHeader(file, (h) => (h.itemCount = -1)),
      'bad-header',
      /itemCount/,
    );
    await rejects(
      withHeader(file, (h) => (h.format = 'private-recs-shard')),
      'bad-header',
      /not a private-recs-catalog-columns header/,
    );
    await rejects(file, 'other-catalog', /another version of the catalog/, '0123456789abcdef');
    // A header whose fingerprint is not that of its ids (an edited file with a recomputed checksum is still caught).
    await rejects(
      withHeader(file, (h) => (h.catalogFingerprint = '0123456789abcdef')),
      'other-catalog',
      /fingerprint/,
    );
  });

  it('refuses values a valid checksum does not make valid: duplicate ids, padded titles, bad UTF-8, genre references out of range', async () => {
    const twice = items(6);
    twice[4] = { ...twice[4]!, id: 'p1' };
    await rejects(await encodeColumns(info, twice), 'bad-values', /duplicate id "p1" \(item 4\)/);
    const padded = items(6);
    padded[2] = { ...padded[2]!, title: ' spaced ' };
    await rejects(await encodeColumns(info, padded), 'bad-values', /item 2's title has spaces/);
    const file = await encodeColumns(info, items(6));
    // Break the UTF-8 of the last title's first byte and mend the checksum: the strict decoder refuses it.
    const { header, payloadStart } = readColumnsHeader(file);
    const broken = file.slice();
    broken[broken.length - header.titleBytes] = 0xff;
    const payload = broken.slice(payloadStart);
    const sha = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', payload)), (b) => b.toString(16).padStart(2, '0')).join('');
    await rejects(
      withHeader(broken, (h) => (h.payloadSha256 = sha)),
      'bad-values',
      /titles are not valid UTF-8/,
    );
    await rejects(
      withHeader(file, (h) => (h.genres = ['fantasy'])),
      'bad-values',
      /a genre reference \(1\) is outside the 1 genres/,
    );
  });
});

describe('a columns file kept on the device', () => {
  it('reads back without a hash as the record says; a record or length that differs, or damaged values, are refused', async () => {
    const file = await encodeColumns(info, items(23));
    const checked = await decodeColumns(file);
    const record: KeptColumnsRecord = { payloadSha256: checked.header.payloadSha256, catalogFingerprint: checked.fingerprint, bytes: file.length };
    const kept = decodeKeptColumns(file, record, 'kept');
    expect(decodeKeptColumns(file, { ...record, itemCount: 23 }, 'kept').size).toBe(23);
    for (let i = 0; i < 23; i++)
      expect([kept.id(i), kept.title(i), kept.textHash(i), kept.indexOf(kept.id(i))]).toEqual([checked.id(i), checked.title(i), checked.textHash(i), i]);
    // Views of the file read back, not a copy of it.
    expect(kept.payload.buffer).toBe(file.buffer);
    const refused = (bytes: Uint8Array<ArrayBuffer>, edit: Partial<typeof record>, reason: ColumnsProblem, words: RegExp) => {
      let error: unknown;
      try {
        decodeKeptColumns(bytes, { ...record, ...edit }, 'kept');
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(ColumnsError);
      expect([(error as ColumnsError).reason, (error as ColumnsError).message]).toEqual([reason, expect.stringMatching(words)]);
    };
    refused(file, { payloadSha256: '0'.repeat(64) }, 'bad-header', /not the one checked when it was kept/);
    refused(file, { catalogFingerprint: '0'.repeat(16) }, 'bad-header', /not the one checked when it was kept/);
    // The items the record names.
    refused(file, { itemCount: 24 }, 'bad-header', /23 items, 24 were kept/);
    refused(file.slice(0, file.length - 4), {}, 'truncated', /bytes, \d+ expected of the \d+ kept/);
    // The second id's first byte made a space: its shape no longer checks (no SHA-256 needed to see it).
    const { payloadStart } = readColumnsHeader(file);
    const idsAt =
      file.length -
      Array.from({ length: 23 }, (_, i) => new TextEncoder().encode(items(23)[i]!.id).length + new TextEncoder().encode(items(23)[i]!.title).length).reduce(
        (a, b) => a + b,
        0,
      );
    expect(idsAt).toBeGreaterThan(payloadStart);
    const spaced = file.slice();
    spaced[idsAt + 2] = 0x20;
    refused(spaced, {}, 'bad-values', /item 1's id has spaces around it/);
  });

  it('read in two parts: every column but the titles first, the titles after, checked then; a title asked for meanwhile is read alone', async () => {
    const file = await encodeColumns(info, items(23));
    const checked = await decodeColumns(file);
    const record: KeptColumnsRecord = { payloadSha256: checked.header.payloadSha256, catalogFingerprint: checked.fingerprint, bytes: file.length };
    const titlesAt = columnsTitlesAt(file.subarray(0, columnsHeaderEnd(file)!));
    const section = file.slice(titlesAt);
    expect(new TextDecoder().decode(section)).toBe(
      items(23)
        .map((item) => item.title)
        .join(''),
    );
    const kept = decodeKeptColumns(file.slice(0, titlesAt), record, 'kept', true);
    expect(kept.titlesPending).toBe(true);
    expect(() => kept.title(0)).toThrow(/not been read/);
    const asked: [number, number][] = [];
    let readWhole = 0;
    kept.titlesLater({
      read: (start, length) => (asked.push([start, length]), section.slice(start, start + length)),
      readAll: () => (readWhole++, section.slice()),
    });
    expect(kept.title(5)).toBe(checked.title(5));
    expect(asked).toHaveLength(1);
    for (let i = 0; i < 23; i++) expect([kept.id(i), kept.textHash(i), kept.indexOf(kept.id(i))]).toEqual([checked.id(i), checked.textHash(i), i]);
    // A section of another length, or with a title that has spaces around it, is not used (the titles stay pending).
    expect(kept.useTitles(section.subarray(1))).toMatch(/the titles are \d+ bytes, the header says \d+/);
    const spaced = section.slice();
    spaced[0] = 0x20;
    expect(kept.useTitles(spaced)).toBe("item 0's title has spaces around it");
    expect(kept.titlesPending).toBe(true);
    expect(kept.useTitles(section)).toBeUndefined();
    expect(kept.titlesPending).toBe(false);
    for (let i = 0; i < 23; i++) expect(kept.title(i)).toBe(checked.title(i));
    expect([asked.length, readWhole]).toEqual([1, 0]);
    // The bytes must stop exactly where the titles start, and the record's length still be the header's.
    expect(() => decodeKeptColumns(file, record, 'kept', true)).toThrow(/too-long|expected of the/);
    expect(() => decodeKeptColumns(file.slice(0, titlesAt), { ...record, bytes: file.length + 1 }, 'kept', true)).toThrow(/bytes kept, its header describes/);
  });

  it('with the titles later the id table is built later: ids resolved by one pass answer lookups, any other builds it; checkIds names a duplicate', async () => {
    const file = await encodeColumns(info, items(23));
    const checked = await decodeColumns(file);
    const record: KeptColumnsRecord = { payloadSha256: checked.header.payloadSha256, catalogFingerprint: checked.fingerprint, bytes: file.length };
    const titlesAt = columnsTitlesAt(file.subarray(0, columnsHeaderEnd(file)!));
    const kept = decodeKeptColumns(file.slice(0, titlesAt), record, 'kept', true);
    expect(kept.idsPending).toBe(true);
    kept.resolveIds(['p7', 'é-3 ünïcode', 'absent', 'p7', 'p22', '']);
    expect([kept.indexOf('p7'), kept.indexOf('é-3 ünïcode'), kept.indexOf('absent'), kept.indexOf('p22'), kept.indexOf(''), kept.idsPending]).toEqual([
      7,
      3,
      undefined,
      22,
      undefined,
      true,
    ]);
    // An id not resolved: the table is built for it, and answers every id from then on.
    expect([kept.indexOf('p8'), kept.idsPending, kept.checkIds()]).toEqual([8, false, undefined]);
    for (let i = 0; i < 23; i++) expect(kept.indexOf(checked.id(i))).toBe(i);
    // More ids than one pass is for (a long history): the table is built at once.
    const many = decodeKeptColumns(file.slice(0, titlesAt), record, 'kept', true);
    many.resolveIds(Array.from({ length: 1001 }, (_, i) => `q${i}`));
    expect(many.idsPending).toBe(false);
    // A duplicate id (item 5 is "p1" too): refused at once where the id table is built with the shape check; else
    // lookups answer the first item with it and `checkIds` names it once the table is built.
    const twice = items(23);
    twice[5] = { ...twice[5]!, id: 'p1' };
    const dupFile = await encodeColumns(info, twice);
    const { header } = readColumnsHeader(dupFile);
    const dupRecord: KeptColumnsRecord = { payloadSha256: header.payloadSha256, catalogFingerprint: header.catalogFingerprint, bytes: dupFile.length };
    expect(() => decodeKeptColumns(dupFile, dupRecord, 'kept')).toThrow(/duplicate id "p1" \(item 5\)/);
    const dup = decodeKeptColumns(dupFile.slice(0, titlesAt), dupRecord, 'kept', true);
    dup.resolveIds(['p1']);
    expect([dup.indexOf('p1'), dup.idsPending]).toEqual([1, true]);
    expect([dup.checkIds(), dup.indexOf('p1'), dup.idsPending]).toEqual(['duplicate id "p1" (item 5)', 1, false]);
  });

  it('titles asked for by the thousand while pending (a search index built early) are read whole at once', async () => {
    const file = await encodeColumns(info, items(23));
    const checked = await decodeColumns(file);
    const record: KeptColumnsRecord = { payloadSha256: checked.header.payloadSha256, catalogFingerprint: checked.fingerprint, bytes: file.length };
    const titlesAt = columnsTitlesAt(file.subarray(0, columnsHeaderEnd(file)!));
    const section = file.slice(titlesAt);
    const kept = decodeKeptColumns(file.slice(0, titlesAt), record, 'kept', true);
    let read = 0;
    let readWhole = 0;
    kept.titlesLater({ read: (start, length) => (read++, section.slice(start, start + length)), readAll: () => (readWhole++, section.slice()) });
    for (let k = 0; k < 6000; k++) expect(kept.title(k % 23)).toBe(checked.title(k % 23));
    expect([read, readWhole, kept.titlesPending]).toEqual([5000, 1, false]);
  });
});
