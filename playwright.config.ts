import { defineConfig } from '@playwright/test';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from './cli/chromium';

/**
 * End-to-end tests against the built app (`vite preview`) in a real Chromium: $PLAYWRIGHT_CHROMIUM_PATH, else
 * Debian's /usr/bin/chromium, else Playwright's own, with the flags for a root user on a machine without network
 * or GPU (cli/chromium.ts, ../shared/BROWSER.md).
 */
const chromiumPath = CHROMIUM_PATH;
const baseArgs = [...CHROMIUM_ARGS];

/** E2E_PORT lets two checkouts run their suites side by side. */
export const PORT = Number(process.env.E2E_PORT ?? 4173);

export default defineConfig({
  testDir: 'e2e',
  timeout: 180_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  // E2E_WORKERS: how many spec files run at once (each in its own browser). Default 1: the suite's
  // timings (first feeds, embedding, training) are measured for one browser on a 2-core machine, and
  // there a second browser makes each test about twice as slow, the suite no faster (the commit that
  // wrote this line has the figures).
  workers: Number(process.env.E2E_WORKERS ?? 1),
  retries: 0,
  reporter: process.env.CI ? [['list']] : [['list']],
  use: {
    baseURL: `http://127.0.0.1:${PORT}`,
    // A trace is recorded for every test and kept for failures: where nobody can open it (CI keeps
    // only the log) it is not recorded at all.
    trace: process.env.CI ? 'off' : 'retain-on-failure',
  },
  projects: [
    {
      // No WebGPU adapter: the engine must fall back (software WebGL is skipped as slower than WASM).
      name: 'fallback',
      use: { launchOptions: { executablePath: chromiumPath, args: baseArgs } },
    },
    {
      // WebGPU through SwiftShader: correctness of the WebGPU path, not its speed.
      name: 'webgpu',
      // Only the tests of the WebGPU path, tagged '@webgpu' (the backend shown on a first visit, the encoder
      // and the model on WebGPU): the rest of these specs (feed, storage, CSP, the WASM encoder) does not
      // depend on the browser's GPU flag and runs once, in 'fallback'. A test this project skipped in its
      // body still opened a browser context; one it does not select costs nothing.
      testMatch: ['first-slice.spec.ts', 'encoders.spec.ts', 'model-backends.spec.ts'],
      grep: /@webgpu/,
      use: { launchOptions: { executablePath: chromiumPath, args: [...baseArgs, '--enable-unsafe-webgpu'] } },
    },
  ],
  webServer: {
    command: `npx vite preview --port ${PORT} --strictPort --host 127.0.0.1 --outDir ${process.env.VITE_OUT_DIR ?? 'dist'}`,
    url: `http://127.0.0.1:${PORT}/`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
