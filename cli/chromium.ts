/**
 * The one place that says how this project starts Chromium (../shared/BROWSER.md's recipe): which browser, and
 * the flags for a root user on a machine without network or GPU. Used by playwright.config.ts and the browser
 * benches, so that the e2e tests and the figures run the same browser the same way.
 */
import { existsSync } from 'node:fs';

/** $PLAYWRIGHT_CHROMIUM_PATH, else Debian's /usr/bin/chromium, else (undefined) Playwright's own. */
export const CHROMIUM_PATH: string | undefined = process.env.PLAYWRIGHT_CHROMIUM_PATH ?? (existsSync('/usr/bin/chromium') ? '/usr/bin/chromium' : undefined);

export const CHROMIUM_ARGS: readonly string[] = [
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
