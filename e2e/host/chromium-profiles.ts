/**
 * Chromium set-ups for the cross-site storage tests (e2e/widget-cross-site.spec.ts and
 * e2e/widget-storage-access.spec.ts): third-party storage blocked or partitioned, a regular
 * (persistent) profile, and the two ways a test can grant storage access.
 */
import { chromium, type BrowserContext, type Page } from '@playwright/test';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Playwright's own --disable-features list (1.65) without ThirdPartyStoragePartitioning: a later
 * --disable-features replaces the earlier one, so third-party storage is partitioned as Chromium ships
 * it. Without it (Playwright's flags as they are) partitioning is off, and with third-party cookies
 * blocked (this Chromium's default) a cross-site frame gets no storage at all.
 */
export const PARTITIONED_ARGS = [
  '--disable-features=AvoidUnnecessaryBeforeUnloadCheckSync,DestroyProfileOnBrowserClose,HttpsUpgrades,HttpsFirstBalancedModeAutoEnable,LensOverlay,MediaRouter,PaintHolding,AvoidCorsURLLoaderRestartOnRedirect,TcpPortRandomizationWin,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch',
];

export interface Profile {
  context: BrowserContext;
  done(): Promise<void>;
}

/**
 * A regular (persistent, not off-the-record) profile in a fresh directory. `storageAccessFor` grants
 * storage access the way the browser's prompt records a user's "Allow": the profile's `storage_access`
 * content setting for [embedded site, top-level site], written before the browser starts.
 */
export async function persistentProfile(launchOptions: object, args: string[] = [], storageAccessFor?: { embedded: string; topLevel: string }): Promise<Profile> {
  const profileDir = await mkdtemp(join(tmpdir(), 'recs-cross-site-'));
  if (storageAccessFor) {
    // A site's pattern: the scheme and host, any port ("http://127.0.0.1,http://localhost").
    const site = (origin: string) => `${new URL(origin).protocol}//${new URL(origin).hostname}`;
    const exceptions = { [`${site(storageAccessFor.embedded)},${site(storageAccessFor.topLevel)}`]: { setting: 1, last_modified: '13400000000000000' } };
    await mkdir(join(profileDir, 'Default'), { recursive: true });
    await writeFile(join(profileDir, 'Default', 'Preferences'), JSON.stringify({ profile: { content_settings: { exceptions: { storage_access: exceptions } } } }));
  }
  const options = launchOptions as { args?: string[] };
  const context = await chromium.launchPersistentContext(profileDir, { ...options, args: [...(options.args ?? []), ...args] });
  return { context, done: async () => (await context.close(), await rm(profileDir, { recursive: true, force: true })) };
}

/**
 * Grants storage access through the browser's permission API (CDP Browser.setPermission, origin = the
 * top-level page, embeddedOrigin = the frame), which Playwright's grantPermissions cannot express (it
 * has no embedded origin). An override of the permission's state only: permissions.query() says
 * 'granted' and requestStorageAccess() resolves, but Chromium's cookie and storage settings do not see
 * it (see docs/widget.md, "Without third-party storage").
 */
export async function grantStorageAccessByPermissionApi(context: BrowserContext, page: Page, topLevel: string, embedded: string): Promise<void> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Browser.setPermission', { permission: { name: 'storage-access' }, setting: 'granted', origin: topLevel, embeddedOrigin: embedded });
}
