import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { authorKey, authorKeys, buildSeriesIndex, parseSeriesTitle, SeriesRole, type SeriesIndex } from './series';

interface Row {
  id: string;
  title: string;
  byline?: string;
  popularity?: number;
}

const catalog: Row[] = JSON.parse(readFileSync(new URL('../../public/catalog/goodbooks-10k.json', import.meta.url), 'utf8')).items;
const index: SeriesIndex = buildSeriesIndex(catalog);
const at = (title: string): number => {
  const i = catalog.findIndex((row) => row.title === title);
  if (i < 0) throw new Error(`no "${title}" in the catalog`);
  return i;
};
const groupOf = (title: string) => index.group[at(title)]!;
const roleOf = (title: string) => index.role[at(title)]!;
const volumeOf = (title: string) => index.volume[at(title)]!;
const titlesIn = (title: string) => index.members[groupOf(title)]!.map((i) => catalog[i]!.title);

describe('parseSeriesTitle', () => {
  it.each([
    ['The Hunger Games (The Hunger Games, #1)', 'The Hunger Games', [1], false, false],
    ['Catching Fire (The Hunger Games, #2)', 'The Hunger Games', [2], false, false],
    ['The Hunger Games Trilogy Boxset (The Hunger Games, #1-3)', 'The Hunger Games', [1, 3], true, false],
    ['Strange Candy (Anita Blake, Vampire Hunter #0.5)', 'Anita Blake, Vampire Hunter', [0.5], false, false],
    ['The Twilight Saga Complete Collection  (Twilight, #1-4 + 3.5)', 'Twilight', [1, 4, 3.5], true, false],
    ['Four: A Divergent Story Collection (Divergent, #0.1 - 0.4)', 'Divergent', [0.1, 0.4], true, false],
    ['Happily Ever After (The Selection, #0.4, 0.5, 2.5, 2.6)', 'The Selection', [0.4, 0.5, 2.5, 2.6], true, false],
    ['A Storm of Swords: Blood and Gold (A Song of Ice and Fire, #3: Part 2 of 2)', 'A Song of Ice and Fire', [3], false, true],
    ['Harry Potter and the Order of the Phoenix (Harry Potter, #5, Part 1)', 'Harry Potter', [5], false, true],
    ['The Fifth Dominion (Imajica Part #1/2)', 'Imajica Part', [1], false, true],
    ['From the Two Rivers: The Eye of the World, Part 1 (Wheel of time, #1-1)', 'Wheel of time', [1, 1], false, false],
    ['Ranma ½, Vol. 1 (Ranma ½ (US 2nd), #1)', 'Ranma ½ (US 2nd)', [1], false, false],
    ['Judy Moody (Judy Moody, # 1)', 'Judy Moody', [1], false, false],
    ['Beyond Exile (Day by Day Armageddon,# 2)', 'Day by Day Armageddon', [2], false, false],
    ['One Thousand White Women: The Journals of May Dodd (One Thousand White Women#1)', 'One Thousand White Women', [1], false, false],
    ['Saga #1', 'Saga', [1], false, false],
    ['Nancy Drew: #1-64', 'Nancy Drew', [1, 64], true, false],
  ])('%s → %s %j', (title, name, numbers, several, part) => {
    const { mentions } = parseSeriesTitle(title);
    expect(mentions).toHaveLength(1);
    expect(mentions[0]).toMatchObject({ name, numbers, several, part });
  });

  it('reads every series of a title that names several', () => {
    expect(parseSeriesTitle('The Color of Magic (Discworld, #1; Rincewind #1)').mentions.map((m) => [m.name, m.numbers])).toEqual([
      ['Discworld', [1]],
      ['Rincewind', [1]],
    ]);
    expect(parseSeriesTitle('Night Play (Dark-Hunter #5, Were-Hunter #1)').mentions.map((m) => [m.name, m.numbers])).toEqual([
      ['Dark-Hunter', [5]],
      ['Were-Hunter', [1]],
    ]);
    expect(parseSeriesTitle('Raising Steam (Discworld, #40, Moist von Lipwig #3 )').mentions.map((m) => [m.name, m.numbers])).toEqual([
      ['Discworld', [40]],
      ['Moist von Lipwig', [3]],
    ]);
    // A comma inside a series' name is not a second series.
    expect(parseSeriesTitle('The Lunatic Cafe (Anita Blake, Vampire Hunter #4)').mentions.map((m) => m.name)).toEqual(['Anita Blake, Vampire Hunter']);
  });

  it('finds no series in titles without a volume number', () => {
    for (const title of ['The Great Gatsby', '#GIRLBOSS', 'The World of the Hunger Games (Hunger Games Trilogy)', 'Twilight Eyes', 'Catch-22']) {
      expect(parseSeriesTitle(title).mentions).toEqual([]);
    }
  });
});

describe('hostile titles', () => {
  it('parses 500-character titles of brackets, hashes and digits quickly and without throwing', () => {
    const titles = [
      '#'.repeat(500),
      `(${'#1, '.repeat(99)})`,
      `${'('.repeat(250)}${')'.repeat(250)}`,
      `x ${'1-'.repeat(248)}`,
      `<script>alert(1)</script> (Evil, #${'9'.repeat(400)})`,
      `${' ,'.repeat(240)}#1`,
      `A (${'a '.repeat(240)}#1)`,
    ];
    const started = performance.now();
    const index = buildSeriesIndex(titles.map((title) => ({ title, byline: title.slice(0, 100) })));
    expect(performance.now() - started).toBeLessThan(500);
    expect(index.group).toHaveLength(titles.length);
  });
});

describe('authorKey', () => {
  it('joins initials and drops dots, accents and "and others"', () => {
    expect(authorKey('J.K. Rowling')).toBe('jk rowling');
    expect(authorKey('J. K.  Rowling')).toBe('jk rowling');
    expect(authorKey('Eiichirō Oda')).toBe('eiichiro oda');
    expect(authorKeys('Leah Wilson, Terri  Clark and others')).toEqual(['leah wilson', 'terri clark']);
  });
});

describe('the series index on the shipped catalog (10,000 goodbooks titles)', () => {
  it('puts the Twilight saga in one series: its volumes in order, novellas and guides beside them', () => {
    const group = groupOf('Twilight (Twilight, #1)');
    for (const title of [
      'New Moon (Twilight, #2)',
      'Eclipse (Twilight, #3)',
      'Breaking Dawn (Twilight, #4)',
      'The Short Second Life of Bree Tanner: An Eclipse Novella (Twilight, #3.5)',
      'Midnight Sun (Twilight, #1.5)',
      'The Twilight Saga: The Official Illustrated Guide (Twilight, #4.5)',
      'Twilight: The Complete Illustrated Movie Companion',
      "Twilight Director's Notebook : The Story of How We Made the Movie Based on the Novel by Stephenie Meyer",
      'New Moon: The Complete Illustrated Movie Companion (The Twilight Saga: The Official Illustrated Movie Companion, #2)',
      'The Twilight Saga (Twilight, #1-4)',
      'The Twilight Saga Complete Collection  (Twilight, #1-4 + 3.5)',
      'Twilight: The Graphic Novel, Vol. 1 (Twilight: The Graphic Novel, #1)',
    ]) {
      expect(groupOf(title), title).toBe(group);
    }
    expect(volumeOf('New Moon (Twilight, #2)')).toBe(2);
    expect(volumeOf('The Short Second Life of Bree Tanner: An Eclipse Novella (Twilight, #3.5)')).toBe(3.5);
    expect(roleOf('The Short Second Life of Bree Tanner: An Eclipse Novella (Twilight, #3.5)')).toBe(SeriesRole.volume);
    expect(roleOf('The Twilight Saga: The Official Illustrated Guide (Twilight, #4.5)')).toBe(SeriesRole.companion);
    expect(roleOf('Twilight: The Complete Illustrated Movie Companion')).toBe(SeriesRole.companion);
    expect(roleOf("Twilight Director's Notebook : The Story of How We Made the Movie Based on the Novel by Stephenie Meyer")).toBe(SeriesRole.companion);
    expect(roleOf('Twilight: The Graphic Novel, Vol. 1 (Twilight: The Graphic Novel, #1)')).toBe(SeriesRole.companion);
    expect(roleOf('The Twilight Saga (Twilight, #1-4)')).toBe(SeriesRole.collection);
    // Other books with "Twilight" in the title are not the saga, nor is Stephenie Meyer's other work.
    for (const title of [
      'Twilight (The Mediator, #6)',
      'Twilight Eyes',
      'Twilight Watch (Watch #3)',
      'Crossroads of Twilight (Wheel of Time, #10)',
      'Twilight (Warriors: The New Prophecy, #5)',
      'The Host (The Host, #1)',
      'The Chemist',
      'Twilight and Philosophy: Vampires, Vegetarians, and the Pursuit of Immortality',
    ]) {
      expect(groupOf(title), title).not.toBe(group);
    }
  });

  it("knows Harry Potter, its box sets and film books, and leaves Rowling's other books alone", () => {
    const group = groupOf("Harry Potter and the Sorcerer's Stone (Harry Potter, #1)");
    expect(volumeOf('Harry Potter and the Deathly Hallows (Harry Potter, #7)')).toBe(7);
    expect(roleOf('Harry Potter Boxset (Harry Potter, #1-7)')).toBe(SeriesRole.collection);
    expect(index.through[at('Harry Potter Boxset (Harry Potter, #1-7)')]).toBe(7);
    expect(roleOf('Harry Potter Boxed Set, Books 1-5 (Harry Potter, #1-5)')).toBe(SeriesRole.collection);
    expect(roleOf('Harry Potter and the Order of the Phoenix (Harry Potter, #5, Part 1)')).toBe(SeriesRole.part);
    expect(groupOf('Harry Potter Page to Screen: The Complete Filmmaking Journey')).toBe(group);
    expect(roleOf('Harry Potter Page to Screen: The Complete Filmmaking Journey')).toBe(SeriesRole.companion);
    for (const title of ['The Casual Vacancy', "The Cuckoo's Calling (Cormoran Strike, #1)", 'Harry Potter and Philosophy: If Aristotle Ran Hogwarts']) {
      expect(groupOf(title), title).not.toBe(group);
    }
  });

  it('knows The Hunger Games with its box set and the movie companions by other authors', () => {
    expect(titlesIn('The Hunger Games (The Hunger Games, #1)').sort()).toEqual(
      [
        'The Hunger Games (The Hunger Games, #1)',
        'Catching Fire (The Hunger Games, #2)',
        'Mockingjay (The Hunger Games, #3)',
        'The Hunger Games Trilogy Boxset (The Hunger Games, #1-3)',
        'The Hunger Games: Official Illustrated Movie Companion',
        'The Hunger Games Tribute Guide',
        'The World of the Hunger Games (Hunger Games Trilogy)',
      ].sort(),
    );
    // Suzanne Collins' other series stays apart.
    expect(groupOf('Gregor the Overlander (Underland Chronicles, #1)')).not.toBe(groupOf('The Hunger Games (The Hunger Games, #1)'));
  });

  it('knows A Song of Ice and Fire: split volumes are parts of their volume; The World of Ice & Fire is a companion', () => {
    const group = groupOf('A Game of Thrones (A Song of Ice and Fire, #1)');
    expect(roleOf('A Storm of Swords: Blood and Gold (A Song of Ice and Fire, #3: Part 2 of 2)')).toBe(SeriesRole.part);
    expect(volumeOf('A Storm of Swords: Blood and Gold (A Song of Ice and Fire, #3: Part 2 of 2)')).toBe(3);
    expect(roleOf('A Dance with Dragons: After the Feast (A Song of Ice and Fire #5, Part 2 of 2)')).toBe(SeriesRole.part);
    expect(roleOf('A Game of Thrones / A Clash of Kings (A Song of Ice and Fire, #1-2)')).toBe(SeriesRole.collection);
    expect(groupOf('The World of Ice & Fire: The Untold History of Westeros and the Game of Thrones')).toBe(group);
    expect(roleOf('The World of Ice & Fire: The Untold History of Westeros and the Game of Thrones')).toBe(SeriesRole.companion);
    // Dunk and Egg is another series by the same author.
    expect(groupOf('The Hedge Knight (The Tales of Dunk and Egg, #1)')).not.toBe(group);
  });

  it('numbers Discworld by its own order, its sub-series (Rincewind, Witches, Death) inside it', () => {
    const group = groupOf('The Color of Magic (Discworld, #1; Rincewind #1)');
    expect(groupOf('Mort (Death, #1; Discworld, #4)')).toBe(group);
    expect(volumeOf('Mort (Death, #1; Discworld, #4)')).toBe(4);
    expect(volumeOf('Equal Rites (Discworld, #3; Witches #1)')).toBe(3);
    expect(volumeOf('Raising Steam (Discworld, #40, Moist von Lipwig #3 )')).toBe(40);
    expect(index.members[group]!.filter((i) => index.role[i] === SeriesRole.volume).length).toBeGreaterThanOrEqual(40);
    // Neil Gaiman's "Death" is not Discworld's Death.
    expect(groupOf('Death: The High Cost of Living Collected')).not.toBe(group);
  });

  it("keeps same-named series by different authors apart, and crossovers from joining two authors' worlds", () => {
    expect(groupOf('Night Watch (Watch #1)')).not.toBe(groupOf('Night Watch (Discworld, #29; City Watch, #6)'));
    expect(groupOf('Cards on the Table (Hercule Poirot, #15)')).not.toBe(groupOf('The Hundred Thousand Kingdoms (Inheritance Trilogy, #1)'));
    expect(groupOf('The Hundred Thousand Kingdoms (Inheritance Trilogy, #1)')).not.toBe(groupOf('Eragon (The Inheritance Cycle, #1)'));
    expect(groupOf('The Legend of Sleepy Hollow (Graphic Novel)')).toBe(-1);
    expect(groupOf('The Notebook (The Notebook, #1)')).toBe(groupOf('The Wedding (The Notebook, #2)'));
    expect(roleOf('The Notebook (The Notebook, #1)')).toBe(SeriesRole.volume);
  });

  it('merges spelling variants and a shortened name of one series, numbered as one', () => {
    expect(groupOf("The Restaurant at the End of the Universe (Hitchhiker's Guide, #2)")).toBe(
      groupOf("The Hitchhiker's Guide to the Galaxy (Hitchhiker's Guide to the Galaxy, #1)"),
    );
    expect(volumeOf("The Restaurant at the End of the Universe (Hitchhiker's Guide, #2)")).toBe(2);
    expect(roleOf("The Hitchhiker's Guide to the Galaxy (Hitchhiker's Guide to the Galaxy, #1)")).toBe(SeriesRole.volume);
  });

  it('groups the editions of a standalone book, and nothing else with them', () => {
    const salem = catalog
      .map((row, i) => [row.title, i] as const)
      .filter(([title]) => title === "'Salem's Lot")
      .map(([, i]) => i);
    expect(salem).toHaveLength(2);
    expect(index.group[salem[0]!]).toBe(index.group[salem[1]!]);
    expect(groupOf('The Firm (Penguin Readers, Level 5)')).toBe(groupOf('The Firm'));
    expect(groupOf('Coraline (Illustrated/Graphic Novel Edition)')).toBe(groupOf('Coraline'));
    expect(index.members[groupOf('The Firm')]).toHaveLength(2);
    // Same title, other author: another book.
    expect(groupOf('The Stand')).toBe(-1);
    expect(groupOf('Faust')).toBe(-1); // "Faust: First Part" is another title
  });

  it('never merges two series whose books share no author (whole catalog)', () => {
    // Within a group, every numbered volume shares an author with another volume of the group, or the
    // group is one series name (a series written by several authors in turn, like The 39 Clues).
    const authorsOf = catalog.map((row) => new Set(authorKeys(row.byline)));
    for (let g = 0; g < index.members.length; g++) {
      const volumes = index.members[g]!.filter((i) => index.role[i] === SeriesRole.volume || index.role[i] === SeriesRole.part);
      const names = new Set(volumes.map((i) => parseSeriesTitle(catalog[i]!.title).mentions[0]?.key ?? catalog[i]!.title));
      if (volumes.length < 2 || names.size < 2) continue;
      for (const i of volumes) {
        const sharesAuthor = volumes.some((j) => j !== i && [...authorsOf[i]!].some((a) => authorsOf[j]!.has(a)));
        expect(sharesAuthor, `${catalog[i]!.title} in ${index.groupName[g]}`).toBe(true);
      }
    }
  });

  it('finds a few hundred series, most with the first volume, and lists members by volume', () => {
    const groups = index.members.length;
    expect(groups).toBeGreaterThan(1000);
    expect(groups).toBeLessThan(2500);
    for (const members of index.members) {
      const volumes = members.map((i) => index.volume[i]!).filter((v) => !Number.isNaN(v));
      expect(volumes).toEqual([...volumes].sort((a, b) => a - b));
    }
  });
});

describe('the series index built again over pools of the same items (reads kept per item)', () => {
  /** Plain arrays, NaN as a string: indexes compare by value. */
  const plain = (value: SeriesIndex): string =>
    JSON.stringify(value, (_key, v: unknown) =>
      ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>, (x) => (Number.isNaN(x) ? 'NaN' : x)) : v,
    );

  it('gives the index of fresh copies of the same items, pool after pool', () => {
    // Consecutive pools sharing most of their item objects, as a rank after a Like does at scale.
    let seed = 7;
    const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
    let pool = Array.from({ length: 600 }, () => catalog[Math.floor(random() * catalog.length)]!);
    for (let round = 0; round < 4; round++) {
      pool = pool.map((item) => (random() < 0.2 ? catalog[Math.floor(random() * catalog.length)]! : item));
      expect(plain(buildSeriesIndex(pool))).toBe(plain(buildSeriesIndex(pool.map((item) => ({ ...item })))));
    }
  });

  it('reads an item again once its title or byline changed', () => {
    const volume: Row = { id: 'a', title: 'Catching Fire (The Hunger Games, #2)', byline: 'Suzanne Collins' };
    const other: Row = { id: 'b', title: 'The Hunger Games (The Hunger Games, #1)', byline: 'Suzanne Collins' };
    const before = buildSeriesIndex([volume, other]);
    expect(before.group[0]).toBe(before.group[1]);
    volume.title = 'A Standalone Novel';
    const after = buildSeriesIndex([volume, other]);
    expect(after.group[0]).toBe(-1);
    volume.byline = 'Someone Else';
    expect(plain(buildSeriesIndex([volume, other]))).toBe(plain(buildSeriesIndex([{ ...volume }, { ...other }])));
  });
});
