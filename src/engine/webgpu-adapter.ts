/**
 * Whether this browser context can get a WebGPU adapter: `navigator.gpu` exists in browsers whose GPU
 * is blocklisted or absent too, and there only `requestAdapter()` says so (it resolves to null).
 * Kept apart from backend.ts so that code which does not load TF.js can ask.
 */
export async function hasWebGpuAdapter(): Promise<boolean> {
  const gpu = (globalThis.navigator as (Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }) | undefined)?.gpu;
  try {
    return Boolean(await gpu?.requestAdapter());
  } catch {
    return false;
  }
}
