/**
 * The widget's CSS, adopted into its shadow root as a constructed stylesheet: host CSS cannot reach
 * inside, ours cannot leak out, and no inline <style> is needed (a strict host CSP forbids those).
 * Hosts theme it with CSS custom properties set on the element: --recs-bg, --recs-fg, --recs-muted,
 * --recs-accent, --recs-border, --recs-danger (error text), --recs-radius, --recs-font, --recs-gap.
 */
const LIGHT = `--recs-bg: #ffffff; --recs-fg: #1d1d1f; --recs-muted: #5f6368; --recs-accent: #1a56b0; --recs-border: #d9d9de; --recs-danger: #b3261e;`;
const DARK = `--recs-bg: #1f2023; --recs-fg: #ececf1; --recs-muted: #a4a7ae; --recs-accent: #8ab4f8; --recs-border: #3a3c42; --recs-danger: #ff9a8f;`;

export const WIDGET_CSS = `
:host { display: block; ${LIGHT} --recs-radius: 8px; --recs-font: system-ui, -apple-system, "Segoe UI", sans-serif; --recs-gap: 8px;
  color: var(--recs-fg); background: var(--recs-bg); font-family: var(--recs-font); font-size: 14px; line-height: 1.35; }
:host([theme="dark"]) { ${DARK} }
@media (prefers-color-scheme: dark) { :host([theme="auto"]) { ${DARK} } }
:host([hidden]) { display: none; }
.status { margin: 0; padding: var(--recs-gap); color: var(--recs-muted); }
.status:empty { display: none; }
.status.error { color: var(--recs-danger); border: 1px solid currentColor; border-radius: var(--recs-radius); }
.list { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: var(--recs-gap); }
:host([layout="row"]) .list { flex-direction: row; overflow-x: auto; scroll-snap-type: x proximity; }
:host([layout="row"]) .item { flex: 0 0 11rem; scroll-snap-align: start; }
:host([layout="grid"]) .list { display: grid; grid-template-columns: repeat(auto-fill, minmax(10rem, 1fr)); }
.item { border: 1px solid var(--recs-border); border-radius: var(--recs-radius); padding: var(--recs-gap); display: flex; flex-direction: column; gap: 2px; min-width: 0; }
.title { all: unset; cursor: pointer; color: var(--recs-accent); font-weight: 600; overflow-wrap: anywhere; }
.title:hover { text-decoration: underline; }
.title:focus-visible { outline: 2px solid var(--recs-accent); outline-offset: 2px; }
.byline, .reason { color: var(--recs-muted); font-size: 0.9em; overflow-wrap: anywhere; }
.reason { font-style: italic; }
.storage { margin: var(--recs-gap) 0 0; color: var(--recs-muted); font-size: 0.85em; }
.storage[hidden], .remember[hidden] { display: none; }
.remember { font: inherit; color: var(--recs-accent); background: none; border: 1px solid currentColor; border-radius: var(--recs-radius); padding: 1px 6px; cursor: pointer; }
.remember:focus-visible { outline: 2px solid var(--recs-accent); outline-offset: 2px; }
`;

let sheet: CSSStyleSheet | undefined;

/** One sheet shared by every widget on the page. */
export function widgetStyleSheet(): CSSStyleSheet {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(WIDGET_CSS);
  }
  return sheet;
}
