/**
 * What a title and a byline say about series, read from their text alone (series.ts groups a catalog's
 * books with it): the series a title names and the volume numbers it gives ("Catching Fire (The Hunger
 * Games, #2)", "Saga #1", "#1-3"), whether a title reads as a collection or a companion, and names and
 * authors normalised for matching.
 */

/** A series named in a title, with the volume number(s) it gives. */
export interface SeriesMention {
  /** As written, trimmed ("The Hunger Games"). */
  name: string;
  /** Normalised for matching (see seriesKey). */
  key: string;
  /** The numbers after '#', in order ([2], [1, 3] for "#1-3", [1, 4, 3.5] for "#1-4 + 3.5"); empty when none. */
  numbers: number[];
  /** "#1-3", "#0.5, 2.5": several volumes in one book. */
  several: boolean;
  /** "#3: Part 2 of 2", "#5, Part 1": one volume split across books (an edition of that volume). */
  part: boolean;
}

/** Lower case, no accents, '&' → 'and', letters and digits only, single spaces, no leading article. */
export function seriesKey(name: string): string {
  return normalizeWords(name).replace(/^(the|a|an) /, '');
}

/** NFKD without the combining marks; ASCII text (most of it) as it is. */
function withoutAccents(text: string): string {
  return ASCII.test(text) ? text : text.normalize('NFKD').replace(/\p{M}/gu, '');
}

export function normalizeWords(text: string): string {
  return withoutAccents(text)
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/['’`]/g, '')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** "J.K. Rowling" and "J. K.  Rowling" → "jk rowling": initials joined, accents and dots dropped. */
export function authorKey(name: string): string {
  const plain = withoutAccents(name).toLowerCase();
  const ascii = ASCII.test(plain);
  let key = plain.includes('others') ? plain.replace(/(^|[^\p{L}])and others$/u, '$1') : plain;
  key = key.replace(ascii ? /[^a-z0-9]+/g : /[^\p{L}\p{N}]+/gu, ' ').trim();
  // Initials join: "j k rowling" → "jk rowling", "j r r tolkien" → "jrr tolkien".
  return SINGLE_LETTER.test(key) ? key.replace(/(?<=^| )(\p{L}) (?=\p{L}(?: |$))/gu, '$1') : key;
}

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;
const SINGLE_LETTER = /(?:^| )\p{L}(?: |$)/u;

/** The byline's authors, normalised, in order, duplicates dropped. */
export function authorKeys(byline: string | undefined): string[] {
  if (!byline) return [];
  const keys = byline
    .split(/[,;]/u)
    .map(authorKey)
    .filter((key) => key.length > 0);
  return [...new Set(keys)];
}

const NUMBER = String.raw`\d+(?:\.\d+)?`;
/** "1", "1-3", "1–3", "1-4 + 3.5", "0.4, 0.5, 2.5", "1/2", "1 de 3". */
const NUMBERS_AT_START = new RegExp(String.raw`^(${NUMBER}(?:\s*(?:[-–+,/]|de|and)\s*${NUMBER})*)`, 'u');
const ANY_NUMBER = new RegExp(NUMBER, 'gu');

/**
 * Parses "Name, #1", "Name #1-3", "Name, #3: Part 2 of 2", "Name #5, Part 1", "Name, # 1", "Name,# 2",
 * "Name #1-4 + 3.5", "Name, #0.1 - 0.4", "Name #1/2" (one series; several go through splitMentions).
 */
function parseMention(text: string): SeriesMention | undefined {
  const match = /^(.*?)[\s,]*#\s*(.+)$/su.exec(text.trim());
  if (!match) return undefined;
  const name = match[1]!.replace(/[\s,:]+$/u, '').trim();
  const rest = match[2]!;
  const numbersPart = NUMBERS_AT_START.exec(rest);
  if (!name || !numbersPart) return undefined;
  const numbers = (numbersPart[1]!.match(ANY_NUMBER) ?? []).map(Number);
  const after = rest.slice(numbersPart[1]!.length);
  const part = /\bpart\b/iu.test(after) || /\/|\bde\b/u.test(numbersPart[1]!);
  // "#1/2" and "#1 de 3" number a part out of several; "#1-1" is one volume written as a range.
  const distinct = new Set(numbers);
  const several = !part && distinct.size > 1;
  return { name, key: seriesKey(name), numbers: part ? numbers.slice(0, 1) : numbers, several, part };
}

/**
 * Splits "Discworld, #1; Rincewind #1" and "Dark-Hunter #5, Were-Hunter #1" into one text per series,
 * but keeps "Anita Blake, Vampire Hunter #4", "#1-4 + 3.5", "#0.4, 0.5, 2.5" and "#5, Part 1" whole.
 */
function splitMentions(inside: string): string[] {
  const pieces = inside.split(/;/u);
  const out: string[] = [];
  for (const piece of pieces) {
    // A comma followed by words and a '#' starts another series ("#5, Were-Hunter #1"), once a '#' was seen.
    const parts = piece.split(/(?<=#\s*[\d.]+(?:\s*[-–]\s*[\d.]+)?)\s*,\s*(?=[^\d#,][^#]*#)/u);
    for (const part of parts) if (part.trim()) out.push(part.trim());
  }
  return out;
}

/** The title's last bracketed group, when the title ends with it (brackets may nest: "(Ranma ½ (US 2nd), #1)"). */
export function trailingGroup(title: string): { inside: string; before: string } | undefined {
  const text = title.trimEnd();
  if (!text.endsWith(')')) return undefined;
  let depth = 0;
  for (let i = text.length - 1; i >= 0; i--) {
    const c = text[i];
    if (c === ')') depth++;
    else if (c === '(') {
      depth--;
      if (depth === 0) return { inside: text.slice(i + 1, -1), before: text.slice(0, i).trim() };
    }
  }
  return undefined;
}

/** The series a title names with volume numbers, and the title without them. */
export function parseSeriesTitle(title: string): { mainTitle: string; mentions: SeriesMention[] } {
  const group = trailingGroup(title);
  if (group && group.inside.includes('#')) {
    const mentions = splitMentions(group.inside)
      .map(parseMention)
      .filter((m): m is SeriesMention => m !== undefined && m.key.length > 0);
    if (mentions.length > 0) return { mainTitle: group.before, mentions };
  }
  // No brackets: "Saga #1", "Nancy Drew: #1-64", "Batman: The Dark Knight Returns #1".
  if (!group) {
    const bare = /^([^#()]+?)[\s,:]*#\s*(\d[\d.\s\-–+,]*)$/u.exec(title.trim());
    if (bare) {
      const mention = parseMention(`${bare[1]} #${bare[2]}`);
      if (mention && mention.key) return { mainTitle: bare[1]!.trim(), mentions: [mention] };
    }
  }
  return { mainTitle: title.trim(), mentions: [] };
}

/** Words that make a title a box set, an omnibus, a companion or a guide to something else. */
const COLLECTION_WORDS =
  /\b(box(ed)? ?set|boxset|box|collection|collected|trilogy|omnibus|complete|treasury|anthology|\d+ ?book set|books? \d+ ?(-|to|–) ?\d+|volumes? \d+ ?(-|to|–) ?\d+)\b/iu;
export const COMPANION_WORDS =
  /\b(companion|guide|notebook|the world of|handbook|encyclopedia|official|unofficial|illustrated|movie|film|screen|filmmaking|graphic novel|ultimate|insiders?|tribute|cookbook|coloring|colouring|page to screen|behind the scenes|making of)\b/iu;

/** Whether a title (or a series name) reads as a collection or a companion, and which. */
export function bookKind(text: string): 'collection' | 'companion' | undefined {
  if (COMPANION_WORDS.test(text)) return 'companion';
  if (COLLECTION_WORDS.test(text)) return 'collection';
  return undefined;
}

/** "Dune Chronicles" → "dune": the words that name the world, for "The Great Dune Trilogy". */
export function coreKey(key: string): string {
  return key
    .replace(/\b(series|saga|trilogy|chronicles?|sequence|cycle|quartet|quintet|books?|novels?|universe|collection)\b/gu, ' ')
    .replace(/\s+/gu, ' ')
    .trim();
}

/** Whether `text` contains `phrase` as whole words. */
export function containsWords(text: string, phrase: string): boolean {
  if (!phrase) return false;
  return ` ${text} `.includes(` ${phrase} `);
}

export function startsWithWords(text: string, phrase: string): boolean {
  return phrase.length > 0 && (text === phrase || text.startsWith(`${phrase} `));
}
