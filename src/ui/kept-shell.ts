/**
 * A returning visit's first screen, painted before the interface's bundle has loaded: the header, the
 * status line and the kept feed (storage/last-feed.ts) as plain DOM, in the markup and classes React
 * renders for them (App.tsx, StatusBar.tsx, Feed.tsx), so the stylesheet lays both out alike and
 * React's first commit, which empties #root, swaps one for the other without a jump. On a 2-core
 * machine React DOM and the app take ~0.5 s to load and render after the page's first script; the
 * kept feed is the reader's own last recommendations, worth showing meanwhile.
 *
 * Text only (textContent, never markup): every value comes from storage and was validated there. The
 * cards answer: a click on a title, "Like" or "Not interested" is queued and handed to the app when it
 * mounts (takeShellEvents), which records it as if it had been clicked there; the focus is handed over
 * to the same control of the same card (handOverShellFocus).
 */
import type { EventKind } from '../core/events';
import type { FeedItem } from '../engine/api';
import type { KeptFeedView } from '../storage/last-feed';
import { FIRST_RECOMMENDATION_ELEMENT, markFirstRecommendation } from './first-recommendation';

export interface ShellEvent {
  kind: Extract<EventKind, 'click' | 'like' | 'dislike'>;
  item: FeedItem;
}

/** The control a card's button is, by its class (the same classes as Feed.tsx's). */
const CONTROLS: Record<string, ShellEvent['kind']> = { 'item-title': 'click', like: 'like', dislike: 'dislike' };

interface PaintedShell {
  main: HTMLElement;
  queue: ShellEvent[];
  /** The card control that last took the focus, while the shell had it. */
  focused?: { itemId: string; control: string };
}

let painted: PaintedShell | undefined;

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { className?: string; text?: string } = {},
  ...children: Node[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (props.className) node.className = props.className;
  if (props.text !== undefined) node.textContent = props.text;
  node.append(...children);
  return node;
}

function card(item: FeedItem, tags: readonly string[], view: KeptFeedView, timed: boolean): HTMLLIElement {
  const { strings } = view;
  const title = element('button', { className: 'item-title', text: item.title });
  title.type = 'button';
  if (timed) title.setAttribute('elementtiming', FIRST_RECOMMENDATION_ELEMENT);
  const li = element('li', { className: 'card' }, element('h3', {}, title));
  li.dataset.itemId = item.id;
  if (item.byline || item.year !== undefined) {
    const separator = item.byline && item.year !== undefined ? ' · ' : '';
    li.append(element('p', { className: 'byline', text: `${item.byline ?? ''}${separator}${item.year ?? ''}` }));
  }
  if (tags.length > 0) {
    const line = element('p', { className: 'genre-tags' }, element('span', { className: 'visually-hidden', text: `${strings.genres}: ` }));
    tags.forEach((tag, index) => {
      const span = element('span', { className: 'tag' });
      if (index > 0) span.append(element('span', { className: 'visually-hidden', text: ', ' }));
      span.append(tag);
      const genre = item.genres?.[index];
      if (genre !== undefined) span.dataset.genre = genre;
      line.append(span);
    });
    li.append(line);
  }
  // The kept reason is the engine's English sentence (no "Why?" details are kept), as Feed.tsx marks it.
  const reason = element('p', { className: 'reason', text: item.reason });
  if (view.language !== 'en') reason.lang = 'en';
  li.append(reason);
  const like = element('button', { className: 'like', text: strings.like });
  const dislike = element('button', { className: 'dislike', text: strings.dislike });
  like.type = dislike.type = 'button';
  li.append(element('div', { className: 'actions' }, like, dislike));
  return li;
}

/**
 * Paints the header, the status line and `feed` into `root` (empty: React has not rendered) and marks
 * the first recommendation. `view.items[i]` describes `feed[i]`.
 */
export function paintKeptShell(root: HTMLElement, feed: readonly FeedItem[], view: KeptFeedView): void {
  if (painted || root.childElementCount > 0 || feed.length === 0) return;
  const { strings } = view;
  document.documentElement.lang = view.language;

  const nav = element('nav');
  nav.setAttribute('aria-label', strings.sections);
  const links: [string, string][] = [
    ['#recommendations-heading', strings.recommendations],
    ['#history', strings.history],
    ['#model', strings.model],
    ['#settings', strings.settings],
    ['#privacy', strings.privacy],
  ];
  links.forEach(([href, text], index) => {
    if (index > 0) nav.append(' · ');
    const link = element('a', { text });
    link.href = href;
    nav.append(link);
  });
  const header = element(
    'header',
    { className: 'app-header' },
    element('h1', { text: strings.appName }),
    element('p', { className: 'tagline', text: strings.tagline }),
    nav,
  );

  const status = element('p', { className: 'backend-status' }, element('span', { text: strings.starting }));
  status.setAttribute('role', 'status');
  const heading = element('h2', { text: strings.heading });
  heading.id = 'recommendations-heading';
  const list = element('ol', { className: 'feed-list' }, ...feed.map((item, index) => card(item, view.items[index]?.tags ?? [], view, index === 0)));
  list.setAttribute('aria-busy', 'false');
  const section = element('section', { className: 'feed' }, heading, list);
  section.setAttribute('aria-labelledby', 'recommendations-heading');
  // App.tsx's live region for announcements, empty until the interface announces something.
  const live = element('p', { className: 'visually-hidden' });
  live.setAttribute('aria-live', 'polite');
  const main = element('main', {}, element('div', { className: 'status-bar' }, status), section, live);

  const state: PaintedShell = { main, queue: [] };
  // On <main>, not on #root: React listens on #root too, and these listeners leave with the shell.
  main.addEventListener('click', (event) => {
    const button = (event.target as Element | null)?.closest('button');
    const li = button?.closest<HTMLLIElement>('li.card');
    const kind = button && CONTROLS[button.className];
    const item = li && feed.find((candidate) => candidate.id === li.dataset.itemId);
    if (!button || !li || !kind || !item || li.dataset.answered) return;
    // A like or dislike is the card's last word until the app takes it (a second click adds nothing).
    if (kind !== 'click') {
      li.dataset.answered = kind;
      for (const control of li.querySelectorAll('.actions button')) control.setAttribute('aria-disabled', 'true');
    }
    state.queue.push({ kind, item });
  });
  main.addEventListener('focusin', (event) => {
    const button = (event.target as Element | null)?.closest('button');
    const itemId = button?.closest<HTMLLIElement>('li.card')?.dataset.itemId;
    state.focused = button && itemId !== undefined ? { itemId, control: button.className } : undefined;
  });
  // Focus moved elsewhere; focus lost with no new target (the shell's removal) keeps the record.
  main.addEventListener('focusout', (event) => {
    if (event.relatedTarget) state.focused = undefined;
  });

  root.append(header, main);
  painted = state;
  markFirstRecommendation();
}

/** Whether this page painted the kept feed early (before React). */
export function keptShellPainted(): boolean {
  return painted !== undefined;
}

/** What the reader did on the early cards, once: the app records each as if clicked on its own cards. */
export function takeShellEvents(): ShellEvent[] {
  if (!painted) return [];
  const events = painted.queue;
  painted.queue = [];
  return events;
}

/**
 * After React's first commit replaced the early cards: puts the focus back on the same control of the
 * same card if one of the early cards had it (the commit removed it, leaving the focus on <body>).
 */
export function handOverShellFocus(): void {
  const focused = painted?.focused;
  if (!painted || !focused || painted.main.isConnected) return;
  painted.focused = undefined;
  if (document.activeElement && document.activeElement !== document.body) return;
  const card = [...document.querySelectorAll<HTMLLIElement>('.feed-list > li.card')].find((li) => li.dataset.itemId === focused.itemId);
  card?.querySelector<HTMLButtonElement>(`button.${focused.control}`)?.focus();
}
