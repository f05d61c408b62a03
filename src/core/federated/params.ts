/**
 * Named parameter sets: the shared part of the model (W, q, b, ranker) as plain Float32Arrays,
 * so the federated code never depends on TF.js and runs the same in Node, the worker and the CLI.
 * Every walk over a set goes in sorted name order, so a flattened delta, a file payload and a
 * checksum are the same on every machine whatever order the tensors were inserted in.
 */

export interface Tensor {
  shape: number[];
  values: Float32Array;
}

export type ParamSet = { [name: string]: Tensor };

/** Name and shape of one tensor, without its values: what a file header and a compatibility check need. */
export interface TensorLayout {
  name: string;
  shape: number[];
}

/** Names in a deterministic order (UTF-16 code units, never the locale: the order must not vary by machine). */
export function paramNames(params: ParamSet): string[] {
  return Object.keys(params).sort();
}

/** Number of elements of a shape; the empty shape is a scalar (1 element). */
export function sizeOf(shape: readonly number[]): number {
  let size = 1;
  for (const dim of shape) size *= dim;
  return size;
}

export function layoutOf(params: ParamSet): TensorLayout[] {
  return paramNames(params).map((name) => ({ name, shape: [...params[name]!.shape] }));
}

export function totalSize(layout: readonly TensorLayout[]): number {
  return layout.reduce((sum, t) => sum + sizeOf(t.shape), 0);
}

/** Throws if a tensor's values do not fill its shape exactly, or a dimension is not a non-negative integer. */
export function assertWellFormed(params: ParamSet): void {
  for (const name of paramNames(params)) {
    const { shape, values } = params[name]!;
    if (!shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RangeError(`parameter '${name}' has an invalid shape [${shape.join(', ')}]`);
    }
    if (sizeOf(shape) !== values.length) {
      throw new RangeError(`parameter '${name}' has shape [${shape.join(', ')}] but ${values.length} values`);
    }
  }
}

/**
 * Describes the first difference between two layouts (a missing name, an extra one, a shape), or
 * returns null when they match. Used to name the mismatch in error messages rather than say "incompatible".
 */
export function layoutMismatch(expected: readonly TensorLayout[], actual: readonly TensorLayout[]): string | null {
  const want = new Map(expected.map((t) => [t.name, t.shape]));
  const got = new Map(actual.map((t) => [t.name, t.shape]));
  for (const [name, shape] of want) {
    const other = got.get(name);
    if (!other) return `parameter '${name}' is missing`;
    if (other.length !== shape.length || other.some((d, i) => d !== shape[i])) {
      return `parameter '${name}' has shape [${other.join(', ')}], expected [${shape.join(', ')}]`;
    }
  }
  for (const name of got.keys()) {
    if (!want.has(name)) return `unexpected parameter '${name}'`;
  }
  return null;
}

function assertSameLayout(a: ParamSet, b: ParamSet): void {
  const mismatch = layoutMismatch(layoutOf(a), layoutOf(b));
  if (mismatch) throw new RangeError(`parameter sets differ: ${mismatch}`);
}

function zip(a: ParamSet, b: ParamSet, op: (x: number, y: number) => number): ParamSet {
  assertSameLayout(a, b);
  const out: ParamSet = {};
  for (const name of paramNames(a)) {
    const x = a[name]!.values;
    const y = b[name]!.values;
    const values = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) values[i] = op(x[i]!, y[i]!);
    out[name] = { shape: [...a[name]!.shape], values };
  }
  return out;
}

/** a − b, tensor by tensor; the layouts must match. */
export function subtract(a: ParamSet, b: ParamSet): ParamSet {
  return zip(a, b, (x, y) => x - y);
}

/** a + b, tensor by tensor; the layouts must match. */
export function add(a: ParamSet, b: ParamSet): ParamSet {
  return zip(a, b, (x, y) => x + y);
}

/** A new set with every value multiplied by `factor`. */
export function scale(params: ParamSet, factor: number): ParamSet {
  return mapValues(params, (x) => x * factor);
}

export function mapValues(params: ParamSet, fn: (x: number) => number): ParamSet {
  const out: ParamSet = {};
  for (const name of paramNames(params)) {
    const { shape, values } = params[name]!;
    const next = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) next[i] = fn(values[i]!);
    out[name] = { shape: [...shape], values: next };
  }
  return out;
}

export function zerosLike(params: ParamSet): ParamSet {
  return zerosOf(layoutOf(params));
}

export function zerosOf(layout: readonly TensorLayout[]): ParamSet {
  const out: ParamSet = {};
  for (const { name, shape } of layout) out[name] = { shape: [...shape], values: new Float32Array(sizeOf(shape)) };
  return out;
}

export function cloneParams(params: ParamSet): ParamSet {
  return mapValues(params, (x) => x);
}

/** L2 norm over all tensors as if they were one vector; accumulated in float64 so a large model does not lose precision. */
export function l2Norm(params: ParamSet): number {
  let sum = 0;
  for (const name of paramNames(params)) {
    const values = params[name]!.values;
    for (let i = 0; i < values.length; i++) sum += values[i]! * values[i]!;
  }
  return Math.sqrt(sum);
}

/** All values in one array, tensors concatenated in sorted name order (the payload order of the file format). */
export function flatten(params: ParamSet): Float32Array<ArrayBuffer> {
  const names = paramNames(params);
  const out = new Float32Array(names.reduce((n, name) => n + params[name]!.values.length, 0));
  let offset = 0;
  for (const name of names) {
    out.set(params[name]!.values, offset);
    offset += params[name]!.values.length;
  }
  return out;
}

/** Inverse of flatten: cuts `flat` into tensors following `layout` (taken in sorted name order). */
export function unflatten(layout: readonly TensorLayout[], flat: Float32Array): ParamSet {
  const sorted = [...layout].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const expected = totalSize(sorted);
  if (expected !== flat.length) {
    throw new RangeError(`the layout needs ${expected} values, got ${flat.length}`);
  }
  const out: ParamSet = {};
  let offset = 0;
  for (const { name, shape } of sorted) {
    const size = sizeOf(shape);
    out[name] = { shape: [...shape], values: flat.slice(offset, offset + size) };
    offset += size;
  }
  return out;
}
