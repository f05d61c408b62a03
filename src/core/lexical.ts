/**
 * The lexical channel: a BM25 index over catalog text, for what embeddings miss — names, rare words,
 * and any language the encoder does not know (USE Lite maps Chinese to unknown tokens, so every
 * Chinese title gets nearly the same vector). Words come from Intl.Segmenter, whose dictionary
 * splits Chinese and Japanese into words ("一部轻松的喜剧" → 一部 | 轻松 | 的 | 喜剧), so no model is
 * needed. Pure: runs in the worker, in Node tests and in the CLI.
 */

/** BM25 term-frequency saturation and length normalisation (the usual Robertson/Sparck Jones values). */
const K1 = 1.2;
const B = 0.75;

const segmenter = new Intl.Segmenter(undefined, { granularity: 'word' });

/**
 * Splits text into normalised words: NFKC (full-width Latin and half-width kana fold to their
 * usual forms), lower case, word-like segments only (no spaces or punctuation).
 */
export function tokenize(text: string): string[] {
  const words: string[] = [];
  for (const segment of segmenter.segment(text.normalize('NFKC').toLocaleLowerCase())) {
    if (segment.isWordLike) words.push(segment.segment);
  }
  return words;
}

interface Posting {
  /** Document (catalog index) ids containing the term, ascending. */
  docs: number[];
  /** Occurrences of the term in each of those documents. */
  counts: number[];
}

/** Postings and lengths accumulated text by text, in document order. */
class IndexBuilder {
  private readonly postings = new Map<string, Posting>();
  private readonly lengths: Uint32Array;
  private totalLength = 0;

  constructor(size: number) {
    this.lengths = new Uint32Array(size);
  }

  /** Indexes texts[from..to): call with consecutive ranges, in order. */
  add(texts: readonly string[], from: number, to: number): void {
    for (let doc = from; doc < to; doc++) {
      const words = tokenize(texts[doc]!);
      this.lengths[doc] = words.length;
      this.totalLength += words.length;
      const counts = new Map<string, number>();
      for (const word of words) counts.set(word, (counts.get(word) ?? 0) + 1);
      for (const [word, count] of counts) {
        let posting = this.postings.get(word);
        if (!posting) this.postings.set(word, (posting = { docs: [], counts: [] }));
        posting.docs.push(doc);
        posting.counts.push(count);
      }
    }
  }

  finish(): Bm25Index {
    const n = this.lengths.length;
    return Bm25Index.fromParts(this.postings, this.lengths, n > 0 ? this.totalLength / n : 0);
  }
}

export class Bm25Index {
  private constructor(
    private readonly postings: Map<string, Posting>,
    private readonly lengths: Uint32Array,
    private readonly averageLength: number,
  ) {}

  /** Indexes one text per document; the document id is its position. */
  static build(texts: readonly string[]): Bm25Index {
    const building = new IndexBuilder(texts.length);
    building.add(texts, 0, texts.length);
    return building.finish();
  }

  /**
   * The same index, built `slice` texts at a time with `pause()` awaited between slices: about a second
   * of work for 10,000 books on a slow machine, which must not hold up the worker's answers to the user.
   */
  static async buildInSlices(texts: readonly string[], pause: () => Promise<void>, slice = 100): Promise<Bm25Index> {
    const building = new IndexBuilder(texts.length);
    for (let from = 0; from < texts.length; from += slice) {
      building.add(texts, from, Math.min(texts.length, from + slice));
      await pause();
    }
    return building.finish();
  }

  /** @internal for IndexBuilder */
  static fromParts(postings: Map<string, Posting>, lengths: Uint32Array, averageLength: number): Bm25Index {
    return new Bm25Index(postings, lengths, averageLength);
  }

  get size(): number {
    return this.lengths.length;
  }

  /** Inverse document frequency in Lucene's form: always positive, so a very common word never counts against a match. */
  private idf(documentFrequency: number): number {
    const n = this.lengths.length;
    return Math.log(1 + (n - documentFrequency + 0.5) / (documentFrequency + 0.5));
  }

  /** BM25 score of every document for the query (0 where no query word occurs). */
  score(query: string): Float32Array {
    const scores = new Float32Array(this.lengths.length);
    // A word repeated in the query counts once: people repeat words for emphasis, not weight.
    for (const word of new Set(tokenize(query))) {
      const posting = this.postings.get(word);
      if (!posting) continue;
      const idf = this.idf(posting.docs.length);
      for (let i = 0; i < posting.docs.length; i++) {
        const doc = posting.docs[i]!;
        const tf = posting.counts[i]!;
        const lengthRatio = this.averageLength > 0 ? this.lengths[doc]! / this.averageLength : 1;
        scores[doc] = scores[doc]! + (idf * tf * (K1 + 1)) / (tf + K1 * (1 - B + B * lengthRatio));
      }
    }
    return scores;
  }

  /**
   * How completely the best-scoring document contains the query: the idf-weighted share of the query's
   * distinct words that occur in it (0 when nothing matches, 1 when one document has every word). A
   * title or an author typed as the query covers itself; a description of a topic ("a whodunit with a
   * clever sleuth") rarely has all its content words in one title, so this says how name-like a query is.
   */
  bestMatchCoverage(query: string): number {
    const words = [...new Set(tokenize(query))];
    if (words.length === 0) return 0;
    const scores = this.score(query);
    let best = -1;
    let bestScore = 0;
    for (let doc = 0; doc < scores.length; doc++) {
      if (scores[doc]! > bestScore) {
        bestScore = scores[doc]!;
        best = doc;
      }
    }
    if (best < 0) return 0;
    let covered = 0;
    let total = 0;
    for (const word of words) {
      const posting = this.postings.get(word);
      // A word no book has weighs like the rarest possible word: it is what the query is about.
      const idf = this.idf(posting?.docs.length ?? 0);
      total += idf;
      if (posting && sortedIncludes(posting.docs, best)) covered += idf;
    }
    return total > 0 ? covered / total : 0;
  }

  /**
   * Scores scaled to [0, 1] by the best document for this query, so they can be blended with
   * cosines whatever the query's length; all zeros when no word matches.
   */
  normalizedScore(query: string): Float32Array {
    const scores = this.score(query);
    let max = 0;
    for (const value of scores) if (value > max) max = value;
    if (max > 0) for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / max;
    return scores;
  }
}

function sortedIncludes(sorted: readonly number[], value: number): boolean {
  let low = 0;
  let high = sorted.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const at = sorted[middle]!;
    if (at === value) return true;
    if (at < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

/**
 * How much of a query's score comes from the lexical channel when the query names a book or an author
 * (every word found in one book's text). Semantic cosines of related items sit close together (USE
 * Lite: 0.64 median between any two titles), so a modest lexical weight is enough to lift exact word
 * matches above near-ties without drowning the meaning of the query.
 */
export const DEFAULT_LEXICAL_WEIGHT = 0.35;

/**
 * Below this best-match coverage (Bm25Index.bestMatchCoverage) a query describes a topic rather than
 * naming a book, and its words count for nothing: on goodbooks, titles and authors typed as queries
 * cover 0.8–1.0, descriptions of what a book is about 0.13–0.74 (0.88 for one that contains a genre
 * word the text also has). A fixed lexical weight on those cost nDCG@10 on the development query set
 * (0.05: −0.02, 0.35: −0.14; the shared set: 0.35 −0.12), while names need the words (P@10 0.15 by
 * cosine, 0.93 with them; docs/benchmarks.md). Between this and 1 the weight rises linearly to
 * DEFAULT_LEXICAL_WEIGHT.
 */
export const NAME_LIKE_COVERAGE = 0.75;

/** 0 for a query that describes a topic, rising to 1 for one whose every word is in one book's text. */
export function nameLikeness(coverage: number): number {
  if (!(coverage > NAME_LIKE_COVERAGE)) return 0;
  return Math.min(1, (coverage - NAME_LIKE_COVERAGE) / (1 - NAME_LIKE_COVERAGE));
}

/** Lexical weight when the query is written in a script the encoder was not trained on: its cosines are then noise. */
export const UNKNOWN_SCRIPT_LEXICAL_WEIGHT = 0.85;

/** Scripts that each language (BCP 47 primary subtag) is written in, for the languages our encoders list. */
const SCRIPTS_BY_LANGUAGE: Readonly<Record<string, readonly string[]>> = {
  en: ['Latin'],
  fr: ['Latin'],
  de: ['Latin'],
  es: ['Latin'],
  it: ['Latin'],
  pt: ['Latin'],
  nl: ['Latin'],
  zh: ['Han'],
  ja: ['Han', 'Hiragana', 'Katakana'],
  ko: ['Hangul', 'Han'],
  ru: ['Cyrillic'],
  uk: ['Cyrillic'],
  ar: ['Arabic'],
  el: ['Greek'],
  he: ['Hebrew'],
  hi: ['Devanagari'],
  th: ['Thai'],
};
const KNOWN_SCRIPTS = [...new Set(Object.values(SCRIPTS_BY_LANGUAGE).flat())];
const SCRIPT_PATTERNS = new Map(KNOWN_SCRIPTS.map((script) => [script, new RegExp(`\\p{Script=${script}}`, 'u')]));

/** The share of the query's letters written in scripts of none of `languages` (0 when it has no letters). */
export function unknownScriptShare(query: string, languages: readonly string[]): number {
  if (languages.includes('*')) return 0;
  const covered = languages.flatMap((language) => SCRIPTS_BY_LANGUAGE[language.split('-')[0]!.toLowerCase()] ?? []);
  let letters = 0;
  let unknown = 0;
  for (const char of query) {
    if (!/\p{L}/u.test(char)) continue;
    letters++;
    if (!covered.some((script) => SCRIPT_PATTERNS.get(script)!.test(char))) unknown++;
  }
  return letters === 0 ? 0 : unknown / letters;
}

/**
 * The lexical channel's weight for this query and encoder: DEFAULT_LEXICAL_WEIGHT × how name-like the
 * query is (`coverage`: Bm25Index.bestMatchCoverage; 1, the default, for a caller without an index),
 * rising linearly to UNKNOWN_SCRIPT_LEXICAL_WEIGHT as the query moves into scripts the encoder does
 * not read (a Chinese query to the English USE Lite is matched on its words, not on noise).
 */
export function lexicalWeightForQuery(query: string, encoderLanguages: readonly string[], coverage = 1): number {
  const base = DEFAULT_LEXICAL_WEIGHT * nameLikeness(coverage);
  const share = unknownScriptShare(query, encoderLanguages);
  return base + share * (UNKNOWN_SCRIPT_LEXICAL_WEIGHT - base);
}

/**
 * Query score = (1 − w)·cosine + w·normalised BM25. Items without an embedding yet get their
 * lexical part alone, so search works before (or without) any model.
 */
export function blendQueryScores(
  semantic: readonly (number | undefined)[] | Float32Array,
  lexical: Float32Array,
  lexicalWeight = DEFAULT_LEXICAL_WEIGHT,
): Float32Array {
  if (lexicalWeight < 0 || lexicalWeight > 1) throw new RangeError(`lexical weight must be in [0, 1], got ${lexicalWeight}`);
  const out = new Float32Array(lexical.length);
  for (let i = 0; i < out.length; i++) {
    const cosine = semantic[i];
    out[i] = cosine === undefined ? lexicalWeight * lexical[i]! : (1 - lexicalWeight) * cosine + lexicalWeight * lexical[i]!;
  }
  return out;
}
