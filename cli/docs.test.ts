/**
 * The documents as a newcomer walks them: every relative link in README.md and docs/*.md leads to a
 * file of the repository (and, with a #fragment, to a heading of that Markdown file), and the README's
 * two commands stay on its first screen exactly as CI (.ci/run) and outside tests type them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const found = new Set<string>();
  for (const line of withoutCode(markdown).split('\n')) {
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (!heading) continue;
    found.add(
      heading[1]!
        .trim()
        .toLowerCase()
        .replace(/[^\p{L}\p{N}\s_-]/gu, '')
        .replace(/\s/g, '-'),
    );
  }
  return found;
}

/** Fenced blocks and inline code hold examples, not links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

function relativeLinks(markdown: string): string[] {
  const links: string[] = [];
  for (const match of withoutCode(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
    const target = match[1]!;
    if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push(target);
  }
  return links;
}

describe('documents', () => {
  it.each(pages)('%s: every relative link resolves', (page) => {
    const markdown = readFileSync(join(root, page), 'utf8');
    const broken: string[] = [];
    for (const link of relativeLinks(markdown)) {
      const [path, fragment] = link.split('#') as [string, string | undefined];
      const file = path ? resolve(dirname(join(root, page)), path) : join(root, page);
      if (!file.startsWith(root) || !existsSync(file)) {
        broken.push(`${link} (no such file)`);
        continue;
      }
      if (fragment && file.endsWith('.md') && !anchors(readFileSync(file, 'utf8')).has(fragment)) broken.push(`${link} (no such heading)`);
    }
    expect(broken).toEqual([]);
  });

  it('the README keeps both commands on its first screen, character for character', () => {
    const firstScreen = readFileSync(join(root, 'README.md'), 'utf8').split('\n').slice(0, 30);
    expect(firstScreen).toContain('    ONNXRUNTIME_NODE_INSTALL=skip npm ci && npm start');
    expect(firstScreen).toContain('    ONNXRUNTIME_NODE_INSTALL=skip npm ci && npm test');
  });
});
