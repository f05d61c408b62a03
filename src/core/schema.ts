/**
 * The schema validator every input from outside goes through: zod's tree-shakable "mini" build, with
 * zod's English messages (zod/mini ships none by default; people read these in error messages).
 * Why mini, not zod's classic chained API: the classic API pulls ~90 KB of zod into each worker's
 * bundle whatever a module uses, and the engine worker evaluates it before it can open IndexedDB on
 * every visit (docs/benchmarks.md, Speed). Same parser and same messages; only the way schemas are
 * written differs (`z.string().check(z.minLength(1))` for `z.string().min(1)`).
 */
import * as z from 'zod/mini';

z.config(z.locales.en());

export { z };

/** The first few issues of a failed parse, for people: "items.3.title: Too small: …; …". */
export function describeIssues(error: { issues: readonly z.core.$ZodIssue[] }): string {
  return error.issues
    .slice(0, 3)
    .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
