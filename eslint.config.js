import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'coverage/', 'node_modules/', 'docs/api/', '.dependency-cruiser.cjs', 'bench/.child-*.mjs'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
      // Public functions re-check their inputs at run time for JavaScript callers, which the
      // types say cannot happen; this rule would remove exactly those checks.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    files: ['spec/**', 'marbles/**', 'bench/**', 'examples/**'],
    rules: {
      '@typescript-eslint/no-unused-expressions': 'off',
      '@typescript-eslint/no-floating-promises': 'off',
      '@typescript-eslint/require-await': 'off',
    },
  },
  {
    // Front ends the examples serve: browser JavaScript, outside the TypeScript project.
    files: ['examples/*-public/**/*.js'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: {
      sourceType: 'module',
      globals: {
        document: 'readonly',
        fetch: 'readonly',
        EventSource: 'readonly',
        WebSocket: 'readonly',
        location: 'readonly',
      },
    },
  },
);
