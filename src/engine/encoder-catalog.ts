/**
 * The text models this deployment offers, as the engine lists them: the bundled default, plus the
 * Transformers.js models whose files /models/manifest.json (written by `npm run models`) says are present.
 * Kept apart from the Transformers.js runtime so the worker's first chunk does not pull it in.
 */
import { availableEncoders, modelManifestSchema, type AvailableEncoder, type ModelDtype } from '../core/encoder-registry';
import type { EncoderOption } from './api';

export function toOption({ spec, downloadBytes, fixture }: AvailableEncoder): EncoderOption {
  return {
    id: spec.id,
    label: spec.label,
    languages: [...spec.languages],
    dimension: spec.dimension,
    downloadBytes,
    bundled: spec.bundled,
    fixture,
  };
}

/**
 * The manifest's models, validated (outside input: a hand-edited or truncated file must not break the
 * app). Any problem means "the bundled model only", with the reason for the console.
 */
export async function listEncoderOptions(
  modelsUrl: string | undefined,
  fetchText: (url: string) => Promise<string>,
): Promise<{ options: EncoderOption[]; dtypes: Map<string, readonly ModelDtype[]>; problem?: string }> {
  const bundledOnly = { options: availableEncoders(undefined).map(toOption), dtypes: new Map<string, readonly ModelDtype[]>() };
  if (modelsUrl === undefined) return bundledOnly;
  let text: string;
  try {
    text = await fetchText(new URL('manifest.json', modelsUrl).href);
  } catch (error) {
    return { ...bundledOnly, problem: `no model manifest (${error instanceof Error ? error.message : String(error)})` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ...bundledOnly, problem: 'manifest.json is not JSON' };
  }
  const parsed = modelManifestSchema.safeParse(json);
  if (!parsed.success) return { ...bundledOnly, problem: `manifest.json is invalid: ${parsed.error.issues[0]?.message ?? 'unknown problem'}` };
  const available = availableEncoders(parsed.data);
  return { options: available.map(toOption), dtypes: new Map(available.map((encoder) => [encoder.spec.id, encoder.dtypes])) };
}
