import { describe, expect, it } from 'vitest';
import type { Contribution } from '../engine/api';
import { contributionLine, contributionText, reasonText } from './explain';

const liked: Contribution = { kind: 'liked', itemId: '3', title: 'Dune', share: 0.45 };

describe('contributionText', () => {
  it('says each kind of contribution in English and in Chinese', () => {
    expect(contributionText(liked, 'en')).toBe('Because you liked “Dune”');
    expect(contributionText(liked, 'zh-CN')).toBe('因为你喜欢《Dune》');
    expect(contributionText({ kind: 'genre', genre: 'science-fiction', likedCount: 3, share: 0.2 }, 'en')).toBe('A science fiction book, like 3 you liked');
    expect(contributionText({ kind: 'genre', genre: 'fantasy', likedCount: 1, share: 0.2 }, 'en')).toBe('A fantasy book, like one you liked');
    expect(contributionText({ kind: 'genre', genre: 'fantasy', likedCount: 3, share: 0.2 }, 'zh-CN')).toBe('奇幻类图书，你喜欢过 3 本同类书');
    expect(contributionText({ kind: 'genre', genre: 'horror', likedCount: 0, share: 0.2 }, 'en')).toBe('A horror book, a genre you chose');
    expect(contributionText({ kind: 'query', query: 'cozy mystery', share: 0.5 }, 'en')).toBe('Matches “cozy mystery”');
    expect(contributionText({ kind: 'query', query: 'cozy mystery', share: 0.5 }, 'zh-CN')).toBe('符合“cozy mystery”');
    expect(contributionText({ kind: 'popular', share: 0.1 }, 'en')).toBe('Popular with readers');
    expect(contributionText({ kind: 'popular', share: 0.1 }, 'zh-CN')).toBe('深受读者欢迎');
    expect(contributionText({ kind: 'new', share: 0.1 }, 'en')).toBe('New to you');
    expect(contributionText({ kind: 'genre', genre: 'art', likedCount: 2, share: 0.2 }, 'en')).toBe('An art book, like 2 you liked');
    expect(contributionText({ kind: 'similar', itemId: '4', title: 'Emma', share: 0.6 }, 'en')).toBe('Similar to “Emma”');
    expect(contributionText({ kind: 'similar', itemId: '4', title: 'Emma', share: 0.6 }, 'zh-CN')).toBe('与《Emma》相似');
    expect(contributionText({ kind: 'taste', share: 0.1 }, 'en')).toBe('Close to your taste');
  });

  it('keeps titles and queries as text, markup included (React escapes it when rendering)', () => {
    expect(contributionText({ kind: 'liked', itemId: '9', title: '<b>Bold</b> & {{x}}', share: 1 }, 'en')).toBe('Because you liked “<b>Bold</b> & {{x}}”');
  });
});

describe('contributionLine', () => {
  it('adds the share as a whole percentage, clamped to 0..100 %', () => {
    expect(contributionLine(liked, 'en')).toBe('Because you liked “Dune” — 45%');
    expect(contributionLine({ kind: 'popular', share: 0.126 }, 'zh-CN')).toBe('深受读者欢迎 — 13%');
    expect(contributionLine({ kind: 'popular', share: 1.7 }, 'en')).toBe('Popular with readers — 100%');
    expect(contributionLine({ kind: 'popular', share: Number.NaN }, 'en')).toBe('Popular with readers — 0%');
  });
});

describe('reasonText', () => {
  it('is the engine’s own words in English, the strongest contribution translated in Chinese', () => {
    const item = { reason: 'Because you liked “Dune”', why: [liked] };
    expect(reasonText(item, 'en')).toBe('Because you liked “Dune”');
    expect(reasonText(item, 'zh-CN')).toBe('因为你喜欢《Dune》');
    expect(reasonText({ reason: 'Popular with readers' }, 'zh-CN')).toBe('Popular with readers');
  });
});
