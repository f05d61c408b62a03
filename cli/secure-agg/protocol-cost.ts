/**
 * The protocol's cost alone at a cohort size and vector length: one `simulateRound` over synthetic u32 vectors
 * (every step of every device, every message through its wire encoding, the server's decoding), no noise, no
 * model. Prints the round's wall time, a device's mean compute and the server's.
 *
 *   npx tsx cli/secure-agg/protocol-cost.ts [n=943] [length=65536] [k=default] [--consistency]
 */
import { simulateRound } from '../../src/core/secagg/simulate';

async function main(): Promise<void> {
  const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const n = Number(positional[0] ?? 943);
  const length = Number(positional[1] ?? 65_536);
  const neighbours = positional[2] ? Number(positional[2]) : undefined;
  const consistency = process.argv.includes('--consistency');
  const inputs = Array.from({ length: n }, (_, i) => Uint32Array.from({ length }, (_, j) => (i * 7 + j) >>> 0));
  const start = performance.now();
  const round = await simulateRound(inputs, { roundId: 'cost', neighbours, consistency });
  const wall = (performance.now() - start) / 1000;
  console.log(
    `n = ${n}, length ${length}, k = ${round.params.neighbours}, consistency ${consistency ? 'on' : 'off'}: round ${wall.toFixed(1)} s, ` +
      `device ${round.msPerDevice.toFixed(0)} ms, server ${(round.serverMs / 1000).toFixed(1)} s (final unmasking ${(round.serverDecodeMs / 1000).toFixed(1)} s)`,
  );
}

void main();
