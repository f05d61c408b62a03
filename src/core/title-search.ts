/**
 * Word matching over a large catalog's titles (issue 21), in place of BM25 over every text: BM25 over
 * 1,000,000 shipped-shape texts kept 340 MiB and took minutes to build (docs/scale.md). Titles are the
 * words people type; postings are typed arrays (a term's items, ascending), terms are 32-bit hashes of
 * the words (two words sharing a hash, about one pair in 4·10⁹, would match each other's items).
 */
import { tokenize } from './lexical';

const ASCII_WORD = /[a-z0-9]+/g;
/** A word in more than this share of the titles only adds to matches of the query's rarer words. */
export const COMMON_SHARE = 0.05;

/** The words of a title or a query: a fast path for ASCII, Intl.Segmenter (lexical tokenize) otherwise. */
export function titleWords(text: string): string[] {
  return isAscii(text) ? (text.toLowerCase().match(ASCII_WORD) ?? []) : tokenize(text);
}

function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

function wordHash(word: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export interface TitleMatches {
  /** Catalog indices, best match first. */
  items: number[];
  scores: number[];
  /** Share of the query's words found in some title (0…1): how name-like the query is. */
  coverage: number;
}

/** Where TitleIndex.build gives way: every `titles` titles, or after `ms` milliseconds of work. */
export type BuildSlice = { titles: number } | { ms: number };

/** How often (in titles) a slice of time looks at the clock. */
const TIME_CHECK_EVERY = 1024;

/** `due(i)`: true when the slice that ended before item i is over (the clock restarts then). */
function sliceClock(slice: BuildSlice): (i: number) => boolean {
  if ('titles' in slice) return (i) => i % slice.titles === 0;
  let started = performance.now();
  return (i) => {
    if (i % TIME_CHECK_EVERY !== 0 || performance.now() - started < slice.ms) return false;
    started = performance.now();
    return true;
  };
}

export class TitleIndex {
  private scratch: Float32Array | undefined;

  private constructor(
    readonly size: number,
    private readonly terms: Map<number, number>,
    private readonly starts: Uint32Array,
    private readonly postings: Uint32Array,
  ) {}

  /**
   * Builds the postings from `title(i)` for i < size, yielding to `pause` between slices: every
   * `slice.titles` titles, or once `slice.ms` milliseconds of work passed (checked every
   * TIME_CHECK_EVERY titles and postings). A slice of time, not of titles: at 1M titles a slice of 20,000
   * took 50–190 ms under load, and a Like that came meanwhile waited for it (docs/scale.md, stop 37).
   */
  static async build(
    size: number,
    title: (index: number) => string,
    pause: () => Promise<void> = async () => {},
    slice: BuildSlice = { ms: 8 },
  ): Promise<TitleIndex> {
    const due = sliceClock(slice);
    const terms = new Map<number, number>();
    let counts = new Uint32Array(1024);
    let itemTerms = new Uint32Array(size * 4);
    const itemEnds = new Uint32Array(size);
    let used = 0;
    for (let i = 0; i < size; i++) {
      if (i > 0 && due(i)) await pause();
      const seen = new Set<number>();
      for (const word of titleWords(title(i))) {
        const hash = wordHash(word);
        let term = terms.get(hash);
        if (term === undefined) terms.set(hash, (term = terms.size));
        if (seen.has(term)) continue;
        seen.add(term);
        if (term >= counts.length) counts = grow(counts, term + 1);
        counts[term]!++;
        if (used >= itemTerms.length) itemTerms = grow(itemTerms, used + 1);
        itemTerms[used++] = term;
      }
      itemEnds[i] = used;
    }
    const starts = new Uint32Array(terms.size + 1);
    for (let t = 0; t < terms.size; t++) starts[t + 1] = starts[t]! + counts[t]!;
    const fill = starts.slice(0, terms.size);
    const postings = new Uint32Array(used);
    // The postings in slices too ('ms' only: a count of titles says nothing about this step's time).
    const fillDue = 'ms' in slice ? sliceClock(slice) : () => false;
    for (let i = 0, k = 0; i < size; i++) {
      if (i > 0 && fillDue(i)) await pause();
      for (; k < itemEnds[i]!; k++) postings[fill[itemTerms[k]!]!++] = i;
    }
    return new TitleIndex(size, terms, starts, postings);
  }

  /** Bytes held by the typed arrays (the term map is about 40 B a term more). */
  get bytes(): number {
    return this.starts.byteLength + this.postings.byteLength;
  }

  get termCount(): number {
    return this.terms.size;
  }

  /**
   * The `limit` titles that match the query's words best: the sum of each matched word's IDF (titles
   * are short, so no term frequency or length), ties to the more popular item, then the lower index.
   */
  search(query: string, limit: number, popularity?: Float32Array): TitleMatches {
    const words = [...new Set(titleWords(query))];
    // Scores accumulate in one array kept between queries (4 bytes an item), reset through `touched`.
    const scores = (this.scratch ??= new Float32Array(this.size));
    const touched: number[] = [];
    const terms = words.flatMap((word) => {
      const term = this.terms.get(wordHash(word));
      return term === undefined ? [] : [{ start: this.starts[term]!, end: this.starts[term + 1]! }];
    });
    // Rarer words first. A word in more than COMMON_SHARE of the titles ("the") adds to the titles the
    // query's rarer words found and makes no match alone: the titles it would add score below every one
    // of those, and at 1M titles they are hundreds of thousands to rank.
    terms.sort((a, b) => a.end - a.start - (b.end - b.start));
    const rare = terms.filter((t) => t.end - t.start <= COMMON_SHARE * this.size).length;
    terms.forEach(({ start, end }, t) => {
      const df = end - start;
      const idf = Math.log(1 + (this.size - df + 0.5) / (df + 0.5));
      const addsTitles = t < rare || rare === 0;
      for (let k = start; k < end; k++) {
        const item = this.postings[k]!;
        if (scores[item] === 0) {
          if (!addsTitles) continue;
          touched.push(item);
        }
        scores[item]! += idf;
      }
    });
    const found = terms.length;
    const better = (a: number, b: number) => scores[a]! - scores[b]! || (popularity ? popularity[a]! - popularity[b]! : 0) || b - a;
    const best = topK(touched, Math.max(0, limit), better);
    const result = { items: best, scores: best.map((item) => scores[item]!), coverage: words.length === 0 ? 0 : found / words.length };
    for (const item of touched) scores[item] = 0;
    return result;
  }
}

/** The k best of `items` by `better` (> 0: a is better), best first: a min-heap of k, O(n log k). */
function topK(items: readonly number[], k: number, better: (a: number, b: number) => number): number[] {
  const heap: number[] = [];
  const down = (at: number) => {
    for (;;) {
      const l = 2 * at + 1;
      const r = l + 1;
      let worst = at;
      if (l < heap.length && better(heap[l]!, heap[worst]!) < 0) worst = l;
      if (r < heap.length && better(heap[r]!, heap[worst]!) < 0) worst = r;
      if (worst === at) return;
      [heap[at], heap[worst]] = [heap[worst]!, heap[at]!];
      at = worst;
    }
  };
  for (const item of items) {
    if (heap.length < k) {
      heap.push(item);
      for (let at = heap.length - 1; at > 0;) {
        const parent = (at - 1) >> 1;
        if (better(heap[at]!, heap[parent]!) >= 0) break;
        [heap[at], heap[parent]] = [heap[parent]!, heap[at]!];
        at = parent;
      }
    } else if (k > 0 && better(item, heap[0]!) > 0) {
      heap[0] = item;
      down(0);
    }
  }
  return heap.sort((a, b) => better(b, a));
}

function grow(array: Uint32Array<ArrayBuffer>, atLeast: number): Uint32Array<ArrayBuffer> {
  const next = new Uint32Array(Math.max(atLeast, array.length * 2));
  next.set(array);
  return next;
}
