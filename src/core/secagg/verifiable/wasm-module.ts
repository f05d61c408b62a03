/**
 * The binary layout of the verifiable mode's two WebAssembly kernels (keccak-wasm.ts, wraparound-wasm.ts): functions
 * of i32 parameters and no result over one imported memory (env.memory), each exported by its name.
 */
import { END, I32, name, section, uleb, vec } from '../../index/wasm-asm';

export interface KernelFunction {
  name: string;
  /** How many i32 parameters (locals 0 … params − 1). */
  params: number;
  /** Further locals, as (count, type) runs. */
  locals: readonly (readonly [number, number])[];
  code: readonly number[];
}

export function kernelModule(functions: readonly KernelFunction[]): Uint8Array<ArrayBuffer> {
  const type = (f: KernelFunction) => [0x60, ...vec(new Array<number[]>(f.params).fill([I32])), 0x00];
  const body = (f: KernelFunction) => {
    const all = [...vec(f.locals.map(([count, t]) => [...uleb(count), t])), ...f.code, ...END];
    return [...uleb(all.length), ...all];
  };
  return Uint8Array.from([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00], // magic, version 1
    ...section(1, vec(functions.map(type))),
    ...section(2, vec([[...name('env'), ...name('memory'), 0x02, 0x00, 0x00]])),
    ...section(3, vec(functions.map((_, i) => uleb(i)))),
    ...section(7, vec(functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]))),
    ...section(10, vec(functions.map(body))),
  ]);
}
