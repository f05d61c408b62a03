import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { parseCatalogText } from '../core/catalog';
import { columnsHeaderEnd, columnsTitlesAt, decodeColumns, encodeColumns } from '../core/catalog-columns';
import { columnsHeadUrl, encodeColumnsHead, parseColumnsHead } from '../core/catalog-columns-head';
import { CatalogIndex } from '../core/catalog-index';
import { columnsUrl, encodeRowShard, rowShardUrl } from '../core/catalog-rows';
import { memoryDirectory } from '../storage/opfs-vectors';
import { columnsDirectory, readKeptColumns } from '../storage/opfs-columns';
import { memoryFile } from '../storage/opfs-listing';
import { afterColumnsFeed, ColumnsCatalog, fetchHead, headFeed, loadColumns, readKeptTitles, startColumns } from './catalog-scale';
import type { ScaleStorage } from './scale';
import { startTestEngine, testCatalog, TEST_VOCABULARY, type TestItem } from './testing/harness';
import { publishShards } from './testing/scale-engine-fixture';

// A catalog named by its columns file: two vector shards (50,000 + 10,000 rows) and three row shards.
const n = 60_000;
const ROW_SHARD_ITEMS = 25_000;
const items: TestItem[] = Array.from({ length: n }, (_, i) => ({
  id: `i${i}`,
  title: `${TEST_VOCABULARY[i % 10]} ${TEST_VOCABULARY[Math.floor(i / 10) % 10]} number ${i}`,
  byline: `Writer ${i % 977}`,
  genres: [`genre-${i % 7}`],
  popularity: 1000 + ((i * 7919) % 1000),
}));
const jsonUrl = '/shop.json';

/** The publisher's files for `items` (as `npm run catalog -- --embeddings` writes them), keyed by URL. */
async function publish(): Promise<Map<string, Uint8Array>> {
  const parsed = parseCatalogText(testCatalog(items)).items;
  const files = new Map<string, Uint8Array>();
  const columnsBytes = await encodeColumns({ name: 'Columns shop', rowShardItems: ROW_SHARD_ITEMS }, parsed);
  files.set(columnsUrl(jsonUrl), columnsBytes);
  const columns = await decodeColumns(columnsBytes);
  files.set(columnsHeadUrl(columnsUrl(jsonUrl)), encodeColumnsHead(columns, columnsBytes.length));
  for (let shard = 0; shard * ROW_SHARD_ITEMS < n; shard++) {
    files.set(rowShardUrl(jsonUrl, shard), await encodeRowShard(columns, shard, parsed.slice(shard * ROW_SHARD_ITEMS, (shard + 1) * ROW_SHARD_ITEMS)));
  }
  // The vectors' shards and text index, as for a catalog in JSON.
  for (const [url, bytes] of await publishShards(items, jsonUrl)) files.set(url, bytes);
  return files;
}

/** OPFS in memory (directories of files), served files and the requests made, as one engine sees them. */
function scaleStorage(files: Map<string, Uint8Array>, dirs: Map<string, Map<string, Uint8Array>>, requests: string[]): ScaleStorage {
  return {
    directory: async (path) => {
      const key = path.join('/');
      if (!dirs.has(key)) dirs.set(key, new Map());
      return memoryDirectory(dirs.get(key)!, new Set());
    },
    removeAll: async () => dirs.clear(),
    // Files read in parts (OPFS's File): the kept columns are read without their titles first.
    file: async (path, name) => {
      const bytes = dirs.get(path.join('/'))?.get(name);
      return bytes && memoryFile(name, bytes);
    },
    fetch: (async (input: RequestInfo | URL, init?: RequestInit) => {
      const file = files.get(String(input));
      // A HEAD (the row shards' sizes before the first download: scale-quota.ts) is answered as a static server does.
      if (init?.method === 'HEAD') {
        requests.push(`HEAD ${String(input)}`);
        return new Response(null, file ? { status: 200, headers: { 'Content-Length': String(file.length) } } : { status: 404 });
      }
      requests.push(String(input));
      return file ? new Response(file.slice(), { status: 200, headers: { ETag: '"e"' } }) : new Response('missing', { status: 404 });
    }) as typeof fetch,
  };
}

describe('a catalog held as columns', () => {
  it('answers by index as the catalog held whole does, and reads rows only for the items asked for', async () => {
    const files = await publish();
    const columns = await decodeColumns(files.get(columnsUrl(jsonUrl))!);
    const whole = new CatalogIndex(parseCatalogText(testCatalog(items)).items);
    const catalog = new ColumnsCatalog(columns);
    expect(catalog.size).toBe(n);
    expect(catalog.fingerprint()).toBe(whole.fingerprint());
    expect(Array.from(catalog.popularity)).toEqual(Array.from(whole.popularity));
    for (const i of [0, 1, 12_345, n - 1]) {
      expect(catalog.indexOf(`i${i}`)).toBe(i);
      expect(catalog.textHash(i)).toBe(whole.textHash(i));
    }
    expect([...catalog.genreBooks()].sort()).toEqual([...whole.genreBooks()].sort());
    // No row stored: a stand-in (no byline) and no text to embed.
    catalog.load([5]);
    expect(catalog.items[5]).toMatchObject({ id: 'i5', title: items[5]!.title, genres: ['genre-5'] });
    expect(catalog.items[5]!.byline).toBeUndefined();
    expect(catalog.items[6]).toBeUndefined();
    expect(catalog.text(5)).toBeUndefined();
  });

  it('starts from `<catalog>.columns`: a first feed, rows and vectors downloaded into OPFS, a like re-ranks, a returning visit fetches no shard', async () => {
    const files = await publish();
    const dirs = new Map<string, Map<string, Uint8Array>>();
    const requests: string[] = [];
    const overrides = (storage: ScaleStorage) => ({
      scaleStorage: storage,
      fetchBytes: async (url: string) => (requests.push(url), files.get(url)),
      // The catalog's JSON is never asked for.
      fetchText: async (url: string): Promise<string> => {
        throw new Error(`fetched ${url}`);
      },
    });
    const config = { catalogUrl: columnsUrl(jsonUrl) };
    const first = await startTestEngine(items, {
      feedSize: 10,
      overrides: overrides(scaleStorage(files, dirs, requests)),
      config,
      databaseName: `columns-${Date.now()}`,
    });
    expect(first.latest().phase).toBe('ready');
    expect(first.latest().catalog).toMatchObject({ name: 'Columns shop', size: n });
    expect(first.latest().feed).toHaveLength(10);
    // The vectors, then the rows: the feed's cards get their bylines from the rows.
    await expect.poll(async () => (await first.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    await expect.poll(() => requests.filter((url) => url.startsWith('/') && url.includes('.rows-')).length, { timeout: 60_000 }).toBe(3);
    // The rows' download has its own progress on the status line (bytes, then time left), cleared at the end.
    expect(first.snapshots.some((snapshot) => /^Downloading the catalog's texts: [\d.]+ (KB|MB) of [\d.]+ (KB|MB)/.test(snapshot.activity ?? ''))).toBe(true);
    await expect.poll(() => first.latest().activity ?? '', { timeout: 30_000 }).not.toMatch(/Downloading/);
    await first.engine.setQuery('');
    await expect.poll(() => first.latest().feed.every((item) => item.byline?.startsWith('Writer ')), { timeout: 30_000 }).toBe(true);
    expect(first.latest().warnings).toEqual([]);

    const dragon = items.find((item) => item.title.startsWith('dragon dragon'))!;
    await first.engine.record('like', dragon.id);
    const feed = first.latest().feed;
    expect(feed.map((item) => item.id)).not.toContain(dragon.id);
    expect(feed.filter((item) => item.title.includes('dragon')).length).toBeGreaterThanOrEqual(8);

    // The columns were kept in OPFS after the first feed.
    await expect
      .poll(async () => (await readKeptColumns(memoryDirectory(dirs.get(columnsDirectory.join('/'))!), columnsUrl(jsonUrl)))?.record.bytes)
      .toBe(files.get(columnsUrl(jsonUrl))!.length);
    // A returning visit: nothing from the network but the head (a few KB, after the first feed: the catalog is still current).
    requests.length = 0;
    const returning = await startTestEngine(items, {
      feedSize: 10,
      overrides: overrides(scaleStorage(files, dirs, requests)),
      config,
      databaseName: `columns-2-${Date.now()}`,
    });
    await expect.poll(async () => (await returning.engine.storageReport()).vectorFiles?.count, { timeout: 60_000 }).toBe(n);
    await expect.poll(() => returning.latest().feed.every((item) => item.byline?.startsWith('Writer ')), { timeout: 30_000 }).toBe(true);
    expect(returning.latest().catalog).toMatchObject({ name: 'Columns shop', size: n });
    expect(requests.filter((url) => !url.endsWith('.co-liked'))).toEqual([columnsHeadUrl(columnsUrl(jsonUrl))]);
    // The kept columns were read without their titles, which came after the first feed: the cards' titles are the
    // catalog's, and the title search finds them.
    await expect
      .poll(() => (performance.getEntriesByName('engine:titles-read', 'measure').at(-1) as PerformanceMeasure | undefined)?.detail?.bytes, { timeout: 30_000 })
      .toBeGreaterThan(n * 20);
    // The kept columns' id table was built after the first feed, not before it (catalog-columns-table.ts checkShape(true)).
    const firstFeedAt = performance.getEntriesByName('engine:first-feed', 'mark').at(-1)!.startTime;
    await expect
      .poll(() => performance.getEntriesByName('engine:id-table', 'measure').at(-1)?.startTime ?? -1, { timeout: 30_000 })
      .toBeGreaterThan(firstFeedAt);
    const byId = new Map(items.map((item) => [item.id, item.title]));
    expect(returning.latest().feed.every((item) => item.title === byId.get(item.id))).toBe(true);
    // A query naming one title ("number 43210": "number" is in every title) leads the feed with it (the titles' word index).
    await returning.engine.setQuery('number 43210');
    expect(returning.latest().feed[0]!.id).toBe('i43210');
    await returning.engine.setQuery('');
    await returning.engine.eraseAll();
    expect(dirs.size).toBe(0);
  }, 120_000);

  it('a quota that holds the vectors but not the vectors and the texts: nothing downloaded, the texts alone refused too, the like kept', async () => {
    const files = await publish();
    const requests: string[] = [];
    // The vectors (60,000 rows of the test encoder's dimension, ~5 MB) fit; with three row shards of ~2.5 MB they do not, nor do the texts alone.
    const rowBytes = files.get(rowShardUrl(jsonUrl, 0))!.length;
    const quota = 3 * rowBytes;
    const engine = await startTestEngine(items, {
      feedSize: 10,
      overrides: {
        scaleStorage: scaleStorage(files, new Map(), requests),
        fetchBytes: async (url: string) => (requests.push(url), files.get(url)),
        estimateStorage: async () => ({ usage: 0, quota }),
      },
      config: { catalogUrl: columnsUrl(jsonUrl) },
      databaseName: `columns-quota-${Date.now()}`,
    });
    await engine.engine.record('like', items[7]!.id);
    const warnings = () => engine.latest().warnings;
    // One check before the first byte: the vectors and the texts together (the row shards sized by HEAD requests).
    await expect
      .poll(() => warnings().find((w) => w.code === 'prebuiltIgnored')?.params, { timeout: 60_000 })
      .toMatchObject({ message: expect.stringMatching(/^Not enough storage for the catalog's vectors and texts: [\d.]+ MB needed, [\d.]+ MB free/) });
    expect(requests.filter((url) => url.includes('.shard-'))).toEqual([]);
    expect((await engine.engine.storageReport()).vectorFiles?.count).toBe(0);
    // The texts alone (three shards and one .part) do not fit either: their own warning, at their first response.
    await expect
      .poll(() => warnings().find((w) => w.code === 'catalogTextsMissing')?.params, { timeout: 60_000 })
      .toMatchObject({ message: expect.stringMatching(/^Not enough storage for the catalog's texts: [\d.]+ MB needed, [\d.]+ MB free/) });
    const rows = [0, 1, 2].map((shard) => rowShardUrl(jsonUrl, shard));
    expect(requests.filter((url) => url.includes('.rows-'))).toEqual([...rows.map((url) => `HEAD ${url}`), rows[0]]);
    expect(engine.latest().feed.every((item) => item.byline === undefined)).toBe(true);
    expect(engine.latest().historySize).toBe(1);
    await expect.poll(() => engine.latest().activity ?? '', { timeout: 30_000 }).not.toMatch(/Downloading/);
  }, 120_000);

  it('columns that cannot be kept on the device: the page is warned, the visit goes on from the download', async () => {
    const files = await publish();
    const storage = scaleStorage(files, new Map(), []);
    // OPFS refuses the kept columns' folder (a full or failing origin storage); the vectors' folders still open.
    const failing: ScaleStorage = {
      ...storage,
      directory: async (path) => {
        if (path.join('/') === columnsDirectory.join('/')) throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
        return storage.directory(path);
      },
    };
    const engine = await startTestEngine(items, {
      feedSize: 10,
      overrides: { scaleStorage: failing, fetchBytes: async (url: string) => files.get(url) },
      config: { catalogUrl: columnsUrl(jsonUrl) },
      databaseName: `columns-not-kept-${Date.now()}`,
    });
    expect(engine.latest().feed).toHaveLength(10);
    await expect
      .poll(() => engine.latest().warnings.find((warning) => warning.code === 'columnsNotKept'), { timeout: 30_000 })
      .toEqual({ code: 'columnsNotKept', params: { message: 'The quota has been exceeded.' } });
    await engine.engine.record('like', items[7]!.id);
    expect(engine.latest().historySize).toBe(1);
  }, 120_000);
});

describe('a columns catalog kept on the device', () => {
  const url = '/small.columns';
  const smallItems = (version: number) =>
    parseCatalogText(testCatalog(items.slice(0, 40).map((item, i) => ({ ...item, title: `${item.title} v${version}`, popularity: version * 100 + i })))).items;
  async function publishSmall(version: number) {
    const file = await encodeColumns({ name: `Small shop v${version}`, rowShardItems: 20 }, smallItems(version));
    const columns = await decodeColumns(file);
    return { file, head: encodeColumnsHead(columns, file.length, 5), columns };
  }
  function sources(served: Map<string, Uint8Array>, requests: string[]) {
    const dirs = new Map<string, Map<string, Uint8Array>>();
    const storage = scaleStorage(served, dirs, requests);
    return {
      dirs,
      sources: { fetchBytes: async (at: string) => (requests.push(at), served.get(at)?.slice()), storage },
      kept: async () => readKeptColumns(await storage.directory(columnsDirectory), url),
    };
  }

  it('a first visit downloads and keeps; the next reads the kept file with no request, checks the head after, and keeps a new version for the visit after', async () => {
    const v1 = await publishSmall(1);
    const served = new Map([
      [url, v1.file],
      [columnsHeadUrl(url), v1.head],
    ]);
    const requests: string[] = [];
    const { sources: from, kept } = sources(served, requests);
    const warnings: string[] = [];
    const warn = (message: string) => warnings.push(message);

    const first = await loadColumns(url, from);
    expect(first.kept).toBe(false);
    expect(requests).toEqual([url]);
    expect(await kept()).toBeUndefined();
    await afterColumnsFeed(url, first, from, warn);
    expect((await kept())?.record).toMatchObject({ url, bytes: v1.file.length, payloadSha256: v1.columns.header.payloadSha256 });
    // Kept byte for byte as downloaded.
    expect(Array.from((await kept())!.bytes)).toEqual(Array.from(v1.file));

    requests.length = 0;
    const second = await loadColumns(url, from);
    expect(second.kept).toBe(true);
    expect(requests).toEqual([]);
    expect(Array.from({ length: 40 }, (_, i) => [second.columns.id(i), second.columns.title(i), second.columns.indexOf(`i${i}`)])).toEqual(
      Array.from({ length: 40 }, (_, i) => [v1.columns.id(i), v1.columns.title(i), i]),
    );
    // The head names the same columns: nothing downloaded.
    await afterColumnsFeed(url, second, from, warn);
    expect(requests).toEqual([columnsHeadUrl(url)]);

    // The catalog changes on the server: the head names other columns; they are downloaded, checked and kept.
    const v2 = await publishSmall(2);
    served.set(url, v2.file).set(columnsHeadUrl(url), v2.head);
    requests.length = 0;
    const third = await loadColumns(url, from);
    expect(third.columns.title(0)).toBe(v1.columns.title(0)); // this visit: the kept one, no request
    expect(requests).toEqual([]);
    await afterColumnsFeed(url, third, from, warn);
    expect(requests).toEqual([columnsHeadUrl(url), url]);
    expect((await kept())?.record.payloadSha256).toBe(v2.columns.header.payloadSha256);
    requests.length = 0;
    const fourth = await loadColumns(url, from);
    expect([fourth.kept, fourth.columns.title(0), fourth.columns.header.name]).toEqual([true, v2.columns.title(0), 'Small shop v2']);
    expect(requests).toEqual([]);
    expect(warnings).toEqual([]);
    // A visit with the columns kept does not ask for the head before its feed (its feed is the kept columns'); one without does.
    const started = startColumns(url, from);
    expect([await started.head, (await started.columns).kept, requests]).toEqual([undefined, true, []]);
    const fresh = startColumns('/other.columns', {
      ...from,
      fetchBytes: async (at: string) => (requests.push(at), served.get(at.replace('/other', '/small'))?.slice()),
    });
    expect((await fresh.head)?.payloadSha256).toBe(v2.columns.header.payloadSha256);
    expect((await fresh.columns).kept).toBe(false);
    expect(requests.sort()).toEqual(['/other.columns', '/other.head.json']);
  });

  it('a kept file cut short, edited or with a record for other columns is downloaded again; a server whose columns do not match their head keeps the old', async () => {
    const v1 = await publishSmall(1);
    const served = new Map([
      [url, v1.file],
      [columnsHeadUrl(url), v1.head],
    ]);
    const requests: string[] = [];
    const { sources: from, dirs } = sources(served, requests);
    await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
    const dir = dirs.get(columnsDirectory.join('/'))!;
    const dataName = [...dir.keys()].find((name) => name.endsWith('.bin'))!;
    const recordName = [...dir.keys()].find((name) => name.endsWith('.json'))!;
    const good = dir.get(dataName)!.slice();
    const damages: [string, () => void][] = [
      ['cut short', () => dir.set(dataName, good.slice(0, good.length - 10))],
      [
        'a record for other columns',
        () => dir.set(recordName, new TextEncoder().encode(new TextDecoder().decode(dir.get(recordName)).replace(/"payloadSha256":"./, '"payloadSha256":"0'))),
      ],
      ['a record that is not JSON', () => dir.set(recordName, new TextEncoder().encode('{'))],
    ];
    for (const [what, damage] of damages) {
      await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
      damage();
      requests.length = 0;
      const loaded = await loadColumns(url, from);
      expect([what, loaded.kept, requests]).toEqual([what, false, [url]]);
      expect(loaded.columns.indexOf('i1')).toBe(1);
    }
    // A duplicate id written over the second id's bytes ("i1" → "i0"): the id table, built after the first feed
    // (readKeptTitles), finds it; the visit goes on with the kept columns, the file is forgotten, the next visit downloads.
    await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
    dir.set(dataName, editId(good, 'i1', 'i0'));
    requests.length = 0;
    const edited = await loadColumns(url, from);
    expect([edited.kept, edited.columns.idsPending, requests]).toEqual([true, true, []]);
    const idWarnings: string[] = [];
    await readKeptTitles(
      url,
      edited,
      from.storage,
      (message) => idWarnings.push(message),
      () => false,
    );
    expect(idWarnings).toEqual(['its ids no longer check: duplicate id "i0" (item 1)']);
    expect([edited.columns.idsPending, edited.columns.indexOf('i0'), edited.columns.indexOf('i1')]).toEqual([false, 0, undefined]);
    const downloaded = await loadColumns(url, from);
    expect([downloaded.kept, requests, downloaded.columns.indexOf('i1')]).toEqual([false, [url], 1]);
    // The head names columns the server does not serve (half-published): the kept ones stay, with a warning.
    const v2 = await publishSmall(2);
    served.set(columnsHeadUrl(url), v2.head);
    await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
    const warnings: string[] = [];
    await afterColumnsFeed(url, await loadColumns(url, from), from, (message) => warnings.push(message));
    expect(warnings).toEqual(['/small.columns is not the file its head names']);
    expect((await readKeptColumns(memoryDirectory(dir), url))?.record.payloadSha256).toBe(v1.columns.header.payloadSha256);
  });

  it('the record names the items it was kept with: a kept file whose header says otherwise is downloaded again', async () => {
    const v1 = await publishSmall(1);
    const served = new Map([
      [url, v1.file],
      [columnsHeadUrl(url), v1.head],
    ]);
    const requests: string[] = [];
    const { sources: from, dirs, kept } = sources(served, requests);
    await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
    expect((await kept())?.record.itemCount).toBe(40);
    const dir = dirs.get(columnsDirectory.join('/'))!;
    const recordName = [...dir.keys()].find((name) => name.endsWith('.json'))!;
    dir.set(recordName, new TextEncoder().encode(new TextDecoder().decode(dir.get(recordName)).replace(/"itemCount":40/, '"itemCount":41')));
    requests.length = 0;
    const loaded = await loadColumns(url, from);
    expect([loaded.kept, requests]).toEqual([false, [url]]);
  });

  it('kept columns are read without their titles, which come after the first feed, checked; a title damaged since is not used and the file is forgotten', async () => {
    const v1 = await publishSmall(1);
    const served = new Map([
      [url, v1.file],
      [columnsHeadUrl(url), v1.head],
    ]);
    const { sources: from, dirs, kept } = sources(served, []);
    await afterColumnsFeed(url, await loadColumns(url, from), from, () => undefined);
    const loaded = await loadColumns(url, from);
    expect([loaded.kept, loaded.columns.titlesPending, loaded.titles !== undefined]).toEqual([true, true, true]);
    // A card's title meanwhile: read alone from the kept file.
    expect(loaded.columns.title(3)).toBe(v1.columns.title(3));
    const warnings: string[] = [];
    await readKeptTitles(
      url,
      loaded,
      from.storage,
      (message) => warnings.push(message),
      () => false,
    );
    expect([loaded.columns.titlesPending, warnings]).toEqual([false, []]);
    for (let i = 0; i < 40; i++) expect(loaded.columns.title(i)).toBe(v1.columns.title(i));
    // The first title's first byte made a space in the kept file: the shape check of the titles finds it after the feed.
    const dir = dirs.get(columnsDirectory.join('/'))!;
    const dataName = [...dir.keys()].find((name) => name.endsWith('.bin'))!;
    const damaged = dir.get(dataName)!.slice();
    damaged[columnsTitlesAt(damaged.subarray(0, columnsHeaderEnd(damaged)!))] = 0x20;
    dir.set(dataName, damaged);
    const again = await loadColumns(url, from);
    expect([again.kept, again.columns.titlesPending]).toEqual([true, true]);
    await readKeptTitles(
      url,
      again,
      from.storage,
      (message) => warnings.push(message),
      () => false,
    );
    expect(warnings).toEqual(["its titles no longer check: item 0's title has spaces around it"]);
    expect(await kept()).toBeUndefined();
  });

  it("the head's popular items are a feed, most popular first; a head that does not check is not used", async () => {
    const v1 = await publishSmall(1);
    const head = parseColumnsHead(v1.head);
    expect(head.popular.map((item) => item.id)).toEqual(['i39', 'i38', 'i37', 'i36', 'i35']);
    expect(headFeed(head, 3)).toEqual(
      [39, 38, 37].map((i) => ({
        id: `i${i}`,
        title: v1.columns.title(i),
        genres: [`genre-${i % 7}`],
        reason: 'Popular with readers',
        why: [{ kind: 'popular', share: 1 }],
      })),
    );
    const served = new Map([[columnsHeadUrl(url), new TextEncoder().encode('{"format":"private-recs-catalog-head","version":1}')]]);
    expect(await fetchHead(url, async (at) => served.get(at))).toBeUndefined();
    expect(await fetchHead(url, async () => undefined)).toBeUndefined();
  });
});

/** The file with the first occurrence of id `from` (as UTF-8 bytes) replaced by `to` (same length). */
function editId(file: Uint8Array, from: string, to: string): Uint8Array {
  const out = file.slice();
  const needle = new TextEncoder().encode(`${from}i`); // ids are back to back: "i0i1i2…"
  for (let at = 0; at + needle.length <= out.length; at++) {
    if (needle.every((byte, k) => out[at + k] === byte)) {
      out.set(new TextEncoder().encode(to), at);
      return out;
    }
  }
  throw new Error(`no ${from} in the file`);
}
