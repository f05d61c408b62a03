import { describe, expect, it } from 'vitest';
import { contentSecurityPolicy, cspHeader, CONTENT_SECURITY_POLICY } from '../../csp';
import { aggregatorOriginIssue, builtDeployment, DeploymentConfigError, deploymentOrigins, parseDeploymentConfig, resolveDeployment } from './deployment';

describe('the deployment config', () => {
  it('is absent by default: no file, no variable, no aggregator', () => {
    expect(resolveDeployment(undefined, undefined)).toEqual({});
    expect(resolveDeployment('', undefined)).toEqual({});
    // Outside a build (Node, tests) nothing is baked in.
    expect(builtDeployment()).toEqual({});
  });

  it('names an aggregator by an exact https origin (http only on this machine), with the promised noise defaulted', () => {
    expect(resolveDeployment(undefined, '{ "aggregator": { "origin": "https://agg.example" } }')).toEqual({
      aggregator: {
        origin: 'https://agg.example',
        noise: { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 100, dropoutTolerance: 1 / 3, lifetimeEpsilon: 10 },
      },
    });
    expect(parseDeploymentConfig({ aggregator: { origin: 'https://agg.example', noise: { lifetimeEpsilon: 4 } } }).aggregator?.noise.lifetimeEpsilon).toBe(4);
    expect(resolveDeployment('http://127.0.0.1:8797', undefined).aggregator?.origin).toBe('http://127.0.0.1:8797');
    expect(resolveDeployment('http://localhost:8787', undefined).aggregator?.origin).toBe('http://localhost:8787');
    expect(parseDeploymentConfig({ aggregator: { origin: 'https://agg.example:8443', noise: { noiseMultiplier: 2 } } }).aggregator?.noise.noiseMultiplier).toBe(
      2,
    );
  });

  it('refuses anything wider or stranger than one exact origin, naming why', () => {
    expect(aggregatorOriginIssue('http://agg.example')).toMatch(/must use https/);
    expect(aggregatorOriginIssue('https://agg.example/')).toMatch(/origin alone/);
    expect(aggregatorOriginIssue('https://agg.example/v1')).toMatch(/origin alone/);
    expect(aggregatorOriginIssue('https://*.example')).toBeDefined();
    expect(aggregatorOriginIssue("https://agg.example; script-src 'unsafe-inline'")).toBeDefined();
    expect(aggregatorOriginIssue('ftp://agg.example')).toBeDefined();
    expect(aggregatorOriginIssue('agg.example')).toMatch(/not a URL/);
    expect(() => resolveDeployment('http://agg.example', undefined)).toThrow(DeploymentConfigError);
    expect(() => resolveDeployment(undefined, '{ "aggregator": { "origin": "https://agg.example/" } }')).toThrow(/deployment\.json: aggregator\.origin/);
    expect(() => resolveDeployment(undefined, 'not json')).toThrow(/not JSON/);
    // A promise of less noise than the accountant can stand behind is not a deployment.
    expect(() => parseDeploymentConfig({ aggregator: { origin: 'https://agg.example', noise: { noiseMultiplier: 0 } } })).toThrow(DeploymentConfigError);
    // A lifetime budget is positive and finite: no budget (0, negative) and no cap (Infinity, huge) are not deployments.
    for (const lifetimeEpsilon of [0, -1, 1001, 'ten', null]) {
      expect(() => parseDeploymentConfig({ aggregator: { origin: 'https://agg.example', noise: { lifetimeEpsilon } } })).toThrow(/lifetimeEpsilon/);
    }
  });
});

describe('a verifiable pair', () => {
  const noise = { clipNorm: 1, noiseMultiplier: 1, expectedCohort: 100, dropoutTolerance: 1 / 3, lifetimeEpsilon: 10 };

  it('names a leader and a helper, each validated like the aggregator, beside or instead of the masked aggregator', () => {
    expect(resolveDeployment(undefined, '{ "verifiable": { "leader": "https://leader.example", "helper": "https://helper.example:8443" } }')).toEqual({
      verifiable: { leader: 'https://leader.example', helper: 'https://helper.example:8443', noise },
    });
    expect(resolveDeployment(undefined, undefined, { leader: 'http://127.0.0.1:8811', helper: 'http://127.0.0.1:8812' })).toEqual({
      verifiable: { leader: 'http://127.0.0.1:8811', helper: 'http://127.0.0.1:8812', noise },
    });
    const both = resolveDeployment('http://127.0.0.1:8797', undefined, { leader: 'http://127.0.0.1:8811', helper: 'http://127.0.0.1:8812' });
    expect(both.aggregator?.origin).toBe('http://127.0.0.1:8797');
    expect(deploymentOrigins(both)).toEqual(['http://127.0.0.1:8797', 'http://127.0.0.1:8811', 'http://127.0.0.1:8812']);
    expect(deploymentOrigins({})).toEqual([]);
    expect(
      parseDeploymentConfig({ verifiable: { leader: 'https://l.example', helper: 'https://h.example', noise: { noiseMultiplier: 2 } } }).verifiable?.noise
        .noiseMultiplier,
    ).toBe(2);
  });

  it('refuses a bad origin, one origin for both, or half a pair, naming why', () => {
    expect(() => parseDeploymentConfig({ verifiable: { leader: 'http://leader.example', helper: 'https://h.example' } })).toThrow(/verifiable\.leader.*https/);
    expect(() => parseDeploymentConfig({ verifiable: { leader: 'https://l.example', helper: 'https://h.example/' } })).toThrow(
      /verifiable\.helper.*origin alone/,
    );
    expect(() => parseDeploymentConfig({ verifiable: { leader: 'https://l.example', helper: 'https://l.example' } })).toThrow(/two different origins/);
    expect(() => parseDeploymentConfig({ verifiable: { leader: 'https://l.example' } })).toThrow(DeploymentConfigError);
    expect(() => resolveDeployment(undefined, undefined, { leader: 'http://127.0.0.1:8811' })).toThrow(/set both or neither/);
    expect(() => resolveDeployment(undefined, undefined, { leader: 'http://127.0.0.1:8811', helper: 'https://*.example' })).toThrow(DeploymentConfigError);
  });
});

describe('the CSP', () => {
  it('connects to the app alone without an aggregator, and to exactly that origin besides with one', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("connect-src 'self';");
    expect(contentSecurityPolicy()).toBe(CONTENT_SECURITY_POLICY);
    expect(contentSecurityPolicy('https://agg.example')).toContain("connect-src 'self' https://agg.example;");
    expect(contentSecurityPolicy('https://agg.example').replace(' https://agg.example', '')).toBe(CONTENT_SECURITY_POLICY);
    expect(cspHeader('https://agg.example')).toMatch(/connect-src 'self' https:\/\/agg\.example;.*frame-ancestors 'self'$/);
  });

  it('connects to exactly the listed origins (an aggregator and a verifiable pair) and nothing else', () => {
    const origins = deploymentOrigins(parseDeploymentConfig({ verifiable: { leader: 'https://l.example', helper: 'https://h.example' } }));
    expect(contentSecurityPolicy(origins)).toContain("connect-src 'self' https://l.example https://h.example;");
    expect(contentSecurityPolicy(origins).replace(' https://l.example https://h.example', '')).toBe(CONTENT_SECURITY_POLICY);
    expect(contentSecurityPolicy([])).toBe(CONTENT_SECURITY_POLICY);
  });
});
