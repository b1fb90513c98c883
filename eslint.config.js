import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  // Fixtures are user code on purpose (a transformation that hangs, one that reaches for process).
  { ignores: ['dist/', 'data/', 'node_modules/', 'coverage/', 'test/fixtures/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-restricted-syntax': [
        'error',
        { selector: "MemberExpression[object.name='process'][property.name='env']", message: 'Read configuration through src/config.ts, once at start-up.' },
      ],
    },
  },
  {
    files: ['src/config.ts', 'test/**', 'bench/**'],
    rules: { 'no-restricted-syntax': 'off' },
  },
);
