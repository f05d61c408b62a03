/**
 * A small catalog with genres (four of them, 12 books each), so that a test reads it in seconds and
 * the genre chips, the cards' genre tags and their "Why?" are all there. The horror books are the
 * least popular: with an empty history none of them is at the top, so a feed that puts them there
 * after choosing "horror" was moved by the choice.
 */
const GENRES = [
  { genre: 'science-fiction', title: 'A Voyage to Mars', text: 'Space travel, starships and distant planets' },
  { genre: 'romance', title: 'Letters in the Rain', text: 'Two people fall in love over one summer' },
  { genre: 'cookbooks', title: 'Cooking with Herbs', text: 'Recipes from the kitchen garden, soups and breads' },
  { genre: 'horror', title: 'The Haunted House', text: 'Ghosts, terror and a haunted house at midnight' },
] as const;

const BOOKS_PER_GENRE = 12;

export const GENRE_CATALOG = {
  format: 'private-recs-catalog',
  version: 1,
  name: 'genre test',
  items: GENRES.flatMap(({ genre, title, text }, g) =>
    Array.from({ length: BOOKS_PER_GENRE }, (_, i) => {
      const n = g * BOOKS_PER_GENRE + i + 1;
      return {
        id: String(n),
        title: `${title} ${i + 1}`,
        text: `${text}, part ${i + 1}`,
        byline: `Author ${n}`,
        year: 1980 + n,
        popularity: 1000 - n,
        genres: [genre, 'fiction'],
      };
    }),
  ),
};

/** Serves GENRE_CATALOG in place of the app's catalog. */
export async function serveGenreCatalog(page: import('@playwright/test').Page): Promise<void> {
  await page.route('**/catalog/goodbooks-10k.json', (route) => route.fulfill({ json: GENRE_CATALOG }));
}
