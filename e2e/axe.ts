/**
 * The accessibility audit the specs run (axe-core: WCAG 2.2 A/AA and axe's best practices), one runner for all of
 * them (accessibility.spec.ts, widget-cross-site.spec.ts).
 */
import { createRequire } from 'node:module';
import type { Page } from '@playwright/test';
import type { AxeResults } from 'axe-core';
import { expect } from './fixtures';

export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

/** axe-core's script, the one @axe-core/playwright injects (resolved from there: the version it was built with). */
const AXE_SOURCE: string = createRequire(createRequire(import.meta.url).resolve('@axe-core/playwright'))('axe-core').source;

/**
 * Every axe violation on the page as it is now, its frames included, in both colour schemes: rule, impact and where.
 * axe is loaded once into each frame and run there by `axe.run`, which audits the child frames through axe's own
 * messages (cross-origin allowed: the widget's iframe is on the app's origin, its host page on another). AxeBuilder
 * did the same audit but loaded axe's 0.6 MB script again for every analysis, into the page and into a blank page
 * it opens to merge the frames' results, most of each analysis's time; and it gives up a frame whose load takes
 * over 1 s (a loaded machine), leaving it unaudited without a word: here each child frame must be in the results.
 * `include`: audit only what this selector matches (its frames are then not required).
 */
export async function axeViolations(page: Page, { include }: { include?: string } = {}): Promise<string[]> {
  for (const frame of page.frames()) {
    if (await frame.evaluate("typeof window.axe === 'object'")) continue;
    await frame.evaluate(AXE_SOURCE);
    await frame.evaluate("axe.configure({ allowedOrigins: ['<unsafe_all_origins>'] })");
  }
  const children = page.mainFrame().childFrames().length;
  const found: string[] = [];
  for (const colorScheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme });
    const context = include === undefined ? 'document' : JSON.stringify({ include: [include] });
    // pingWaitTime: axe skips, without a word, a child frame that does not answer its ping within 500 ms (its
    // default), which a busy widget frame on a loaded machine can miss (seen under two Playwright workers: "child
    // frames with results" 0 of 1). axe is in every frame already (above), so a frame that stays silent for 10 s has none.
    const results = await page.evaluate<AxeResults>(
      `axe.run(${context}, { runOnly: { type: 'tag', values: ${JSON.stringify(AXE_TAGS)} }, pingWaitTime: 10000 })`,
    );
    const nodes = [...results.passes, ...results.violations, ...results.incomplete].flatMap((result) => result.nodes);
    const framesAudited = new Set(nodes.filter((node) => node.target.length > 1).map((node) => String(node.target[0])));
    if (include === undefined) expect(framesAudited.size, `${colorScheme}: child frames with results`).toBe(children);
    for (const violation of results.violations) {
      for (const node of violation.nodes) found.push(`${colorScheme}: ${violation.id} (${violation.impact}) at ${node.target.join(' ')}`);
    }
  }
  await page.emulateMedia({ colorScheme: null });
  return found;
}
