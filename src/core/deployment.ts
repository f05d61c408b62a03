/**
 * The deployment's configuration: `public/deployment.json`, absent by default (then the app talks to no
 * one but its own origin). Its one setting today names the aggregation service that "Contribute to the
 * shared model" (Privacy panel) may send masked, noised model updates to, and the noise the deployment
 * promises its users (what the panel's ε is computed from; the device refuses rounds with less noise).
 *
 *   { "aggregator": { "origin": "https://agg.example", "noise": { "clipNorm": 1, "noiseMultiplier": 1, "expectedCohort": 100, "lifetimeEpsilon": 10 } } }
 *
 * or a VERIFIABLE pair (docs/secure-aggregation.md "Verifiable mode": two non-colluding aggregators, each report's
 * norm proved ≤ C), or both (the user then chooses which one this device joins, in the Privacy panel):
 *
 *   { "verifiable": { "leader": "https://leader.example", "helper": "https://helper.example", "noise": { … } } }
 *
 * The build reads it (or `VITE_AGGREGATOR_ORIGIN` / `VITE_VERIFIABLE_LEADER` + `VITE_VERIFIABLE_HELPER`) once: the
 * CSP's connect-src gets exactly the origins it names (csp.ts, vite.config.ts: deploymentOrigins) and the app gets
 * the validated value baked in (engine/contribute.ts), so the page can never be pointed elsewhere at run time.
 * Pure: used by vite.config.ts (Node) and the worker.
 */
// With its extension: vite.config.ts imports this file, and Vite's native config loader wants one.
import { describeIssues, z } from './schema.ts';

/** Hosts where plain http is allowed (a developer's own service); everywhere else https only. */
const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** An exact origin ("https://agg.example:8443"): https, or http on this machine only. */
export function aggregatorOriginIssue(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `'${text}' is not a URL`;
  }
  if (url.origin !== text) return `'${text}' must be an origin alone (scheme, host and port, no path or trailing slash): '${url.origin}'`;
  // The origin goes into the CSP as a source expression: a '*' there would be a wildcard, not a host.
  if (!/^(?:[a-z0-9-]+\.)*[a-z0-9-]+$|^\[[0-9a-f:.]+\]$/.test(url.hostname)) return `'${text}' must name one host (letters, digits, dots and hyphens)`;
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:' && LOCAL_HOSTS.has(url.hostname)) return undefined;
  return `'${text}' must use https (plain http only for localhost or 127.0.0.1)`;
}

const originSchema = z.string().check(
  z.maxLength(300),
  z.superRefine((text, context) => {
    const issue = aggregatorOriginIssue(text);
    if (issue) context.issues.push({ code: 'custom', message: issue, input: text });
  }),
);

/**
 * A device's lifetime privacy budget: the ε (at δ = 10⁻⁵) past which it joins no more rounds. 10 is where
 * the usual reading of ε stops calling the guarantee meaningful (Ponomareva et al., "How to DP-fy ML",
 * JAIR 2023: ε ≤ 1 strong, ε ≤ 10 reasonable, above 10 weak; at ε = 10 an attacker's odds may grow
 * e¹⁰ ≈ 22,000-fold). docs/secure-aggregation.md, "Lifetime privacy budget", says what it allows.
 */
export const DEFAULT_LIFETIME_EPSILON = 10;

/**
 * The noise a deployment promises (B's DistributedNoiseSettings, the parts the user's ε depends on), and
 * the lifetime ε budget a device keeps to (core/secagg/budget.ts).
 * Defaults: C = 1, z = 1 for the SUM (the secure-aggregation trust model: each device adds only its share),
 * a cohort of 100 with a third allowed to drop, a lifetime budget of ε = 10.
 */
export const promisedNoiseSchema = z.object({
  clipNorm: z._default(z.number().check(z.positive(), z.lte(1e6)), 1),
  noiseMultiplier: z._default(z.number().check(z.gte(0.3), z.lte(1e4)), 1),
  expectedCohort: z._default(z.int().check(z.gte(2), z.lte(1_000_000)), 100),
  dropoutTolerance: z._default(z.number().check(z.gte(0), z.lt(1)), 1 / 3),
  // Finite and bounded: a budget of 1,000 already means no guarantee at all; "no cap" is not offered.
  lifetimeEpsilon: z._default(z.number().check(z.positive(), z.lte(1000)), DEFAULT_LIFETIME_EPSILON),
});

export type PromisedNoise = z.infer<typeof promisedNoiseSchema>;

const defaultNoise = () => promisedNoiseSchema.parse({});

/**
 * The verifiable pair: the leader (devices upload one share to it; it drives the proof's check with the helper,
 * collects and publishes the model) and the helper (the other share). Two different origins, run by two
 * operators who must not collude (server/verifiable/).
 */
export const verifiablePairSchema = z
  .object({
    leader: originSchema,
    helper: originSchema,
    noise: z._default(promisedNoiseSchema, defaultNoise),
  })
  .check(
    z.superRefine((pair, context) => {
      if (pair.leader === pair.helper)
        context.issues.push({
          code: 'custom',
          message: `the leader and the helper must be two different origins (both are '${pair.leader}')`,
          input: pair,
          path: ['helper'],
        });
    }),
  );

export type VerifiablePair = z.infer<typeof verifiablePairSchema>;

export const deploymentSchema = z.object({
  aggregator: z.optional(
    z.object({
      origin: originSchema,
      noise: z._default(promisedNoiseSchema, defaultNoise),
    }),
  ),
  verifiable: z.optional(verifiablePairSchema),
});

export type DeploymentConfig = z.infer<typeof deploymentSchema>;

export class DeploymentConfigError extends Error {
  override name = 'DeploymentConfigError';
}

/** Validates a parsed deployment.json; throws DeploymentConfigError naming the problem. */
export function parseDeploymentConfig(value: unknown, source = 'deployment.json'): DeploymentConfig {
  const parsed = deploymentSchema.safeParse(value);
  if (!parsed.success) throw new DeploymentConfigError(`${source}: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** The verifiable pair named by the environment (VITE_VERIFIABLE_LEADER and VITE_VERIFIABLE_HELPER, both or neither). */
export interface VerifiableEnv {
  leader?: string | undefined;
  helper?: string | undefined;
}

/**
 * The build's deployment: `VITE_AGGREGATOR_ORIGIN` (set and non-empty) names the aggregator and
 * `VITE_VERIFIABLE_LEADER` + `VITE_VERIFIABLE_HELPER` the verifiable pair, each with the default promised noise;
 * else the file's text (undefined: no file, no aggregator). A bad value fails the build.
 */
export function resolveDeployment(envOrigin: string | undefined, fileText: string | undefined, envPair: VerifiableEnv = {}): DeploymentConfig {
  const leader = envPair.leader || undefined;
  const helper = envPair.helper || undefined;
  if ((leader === undefined) !== (helper === undefined))
    throw new DeploymentConfigError('VITE_VERIFIABLE_LEADER and VITE_VERIFIABLE_HELPER name the verifiable pair together: set both or neither');
  const fromEnv = {
    ...(envOrigin ? { aggregator: { origin: envOrigin } } : {}),
    ...(leader && helper ? { verifiable: { leader, helper } } : {}),
  };
  if (Object.keys(fromEnv).length > 0) {
    return parseDeploymentConfig(fromEnv, envOrigin ? (leader ? 'VITE_AGGREGATOR_ORIGIN / VITE_VERIFIABLE_*' : 'VITE_AGGREGATOR_ORIGIN') : 'VITE_VERIFIABLE_*');
  }
  if (fileText === undefined) return {};
  let json: unknown;
  try {
    json = JSON.parse(fileText);
  } catch (error) {
    throw new DeploymentConfigError(`deployment.json is not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  return parseDeploymentConfig(json);
}

/** Every origin the deployment names (the masked aggregator, the verifiable leader and helper): the CSP's connect-src besides 'self'. */
export function deploymentOrigins(config: DeploymentConfig): string[] {
  const origins = [config.aggregator?.origin, config.verifiable?.leader, config.verifiable?.helper].filter((o): o is string => o !== undefined);
  return [...new Set(origins)];
}

/** Replaced by the build (vite.config.ts `define`) with the validated deployment; absent in Node and tests. */
declare const __PRIVATE_RECS_DEPLOYMENT__: unknown;

/**
 * The deployment this build was made with, validated again here (the value is the build's, but the check
 * costs nothing and keeps a hand-edited bundle from naming a plain-http or malformed origin).
 */
export function builtDeployment(): DeploymentConfig {
  const value = typeof __PRIVATE_RECS_DEPLOYMENT__ === 'undefined' ? {} : __PRIVATE_RECS_DEPLOYMENT__;
  return parseDeploymentConfig(value, 'the build’s deployment');
}
