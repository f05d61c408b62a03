// ESLint (flat config): typescript-eslint's recommended rules over the repository's TypeScript (npm run lint).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'dist-*/', 'public/', 'bench-out/', '.cache/', 'test-results/', 'playwright-report/', '**/*.js', '**/*.mjs'] },
  {
    files: ['**/*.{ts,tsx}'],
    extends: [js.configs.recommended, ...tseslint.configs.recommended],
    rules: {
      // A leading underscore marks a binding kept on purpose (a destructured field left out, an unused parameter).
      '@typescript-eslint/no-unused-vars': [
        'warn',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // `cond && act()` and comma sequences in loop bodies are the house style for one-line side effects.
      '@typescript-eslint/no-unused-expressions': ['error', { allowShortCircuit: true, allowTernary: true }],
      // A warning until cli/secure-agg/browser-device.ts's one `let params` is a const (its owner's change in flight).
      'prefer-const': 'warn',
    },
  },
  {
    // Playwright's fixtures are destructured: a test that needs none but testInfo writes `async ({}, testInfo)`.
    files: ['e2e/**/*.ts'],
    rules: { 'no-empty-pattern': 'off' },
  },
);
