/**
 * What the service's benchmarks share (server/bench.ts, and the browser device's bench in
 * cli/secure-agg/browser-device.ts): the service started as its own process, the round as the service
 * announces it, HTTP requests as a device makes them, the base model the services start from, and a
 * process's CPU time and peak memory from /proc (also the verifiable mode's bench, cli/secure-agg/verifiable-round.ts).
 * The bounded pool of simulated devices is core/pool.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeModelFile } from '../src/core/federated/format';
import type { ParamSet } from '../src/core/federated/params';
import type { DistributedNoiseSettings } from '../src/core/secagg/encode';
import { DEFAULT_BASE, loadBaseModel } from './base-model';

/** GET /v1/round: the round open now. */
export interface AnnouncedRound {
  roundId: string;
  phase: string;
  deltaLength: number;
  vectorLength: number;
  noise: DistributedNoiseSettings;
  rotationSeed: string;
}

/** One request as a device makes it: JSON or bytes up (then POST), a bearer token, JSON (or nothing) back. */
export async function request(url: string, init: { method?: string; token?: string; json?: unknown; bytes?: Uint8Array } = {}): Promise<unknown> {
  const headers: Record<string, string> = {};
  if (init.token) headers.Authorization = `Bearer ${init.token}`;
  let body: BodyInit | undefined;
  if (init.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(init.json);
  } else if (init.bytes) {
    headers['Content-Type'] = 'application/octet-stream';
    body = init.bytes as BodyInit;
  }
  const method = init.method ?? (body ? 'POST' : 'GET');
  const response = await fetch(url, { method, headers, ...(body ? { body } : {}) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : null;
}

/**
 * `npm run aggregator`'s entry point (server/main.ts) as a child process, node itself with tsx as a
 * loader (so the child's pid is the service's), with `serviceArgs` after `--port 0`; resolves with the
 * address it says it listens on.
 */
export async function startService(
  serviceArgs: readonly string[],
  nodeFlags: readonly string[] = [],
): Promise<{ child: ChildProcess; url: string; pid: number; log: string[] }> {
  const root = join(import.meta.dirname, '..');
  const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', join(import.meta.dirname, 'main.ts'), '--port', '0', ...serviceArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: root,
  });
  const log: string[] = [];
  const url = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        log.push(line);
        const match = /listening on (http:\/\/\S+)/.exec(line);
        if (match) resolve(match[1]!);
      }
    });
    child.once('exit', (code) => reject(new Error(`the service exited (${code}): ${log.join('\n')}`)));
  });
  return { child, url, pid: child.pid!, log };
}

/** The fields of /proc/PID/stat after the command name (the name may hold spaces). */
export function procStat(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
}

/** utime + stime of a procStat (fields 14 and 15 of /proc/PID/stat, 1-based), in clock ticks. */
export function cpuTicks(fields: readonly string[]): number {
  return Number(fields[11]) + Number(fields[12]);
}

/** Clock ticks a second in /proc on Linux. */
export const TICKS_PER_SECOND = 100;

/** A process's CPU time so far (user + system), seconds. */
export function cpuSeconds(pid: number): number {
  return cpuTicks(procStat(pid)) / TICKS_PER_SECOND;
}

/** A process's peak resident memory so far (VmHWM), MiB. */
export function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'))!;
  return Number(/(\d+)/.exec(line)![1]) / 1024;
}

/**
 * The base model a bench's services start from, written to `<dir>/base.prfed`: one of `values` values
 * (`--values N`) or, without it, the app's shipped model.
 */
export async function benchBase(dir: string, values: string | undefined): Promise<{ params: ParamSet; file: Uint8Array; path: string }> {
  let base: { params: ParamSet; file: Uint8Array };
  if (values) {
    const n = Number(values);
    const params: ParamSet = { W: { shape: [n], values: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 0.01) } };
    base = { params, file: await encodeModelFile({ kind: 'global', modelId: 'bench@1', catalogFingerprint: 'bench' }, params) };
  } else {
    base = await loadBaseModel(DEFAULT_BASE);
  }
  const path = join(dir, 'base.prfed');
  await writeFile(path, base.file);
  return { ...base, path };
}
