// @ts-check
import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/** Database clients: only src/storage/ imports them (the storage layer). */
const DB_CLIENTS = ['better-sqlite3', 'pg', 'ioredis', 'redis'];

export default defineConfig(
  { ignores: ['dist/', 'node_modules/', 'coverage/', 'data/', 'test-artifacts/'] },
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
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-confusing-void-expression': [
        'error',
        { ignoreArrowShorthand: true, ignoreVoidReturningFunctions: true },
      ],
      // The pure clinical core must not read the clock or randomness: `now` and ids are inputs.
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'fhir-kit-client', message: 'Only src/fhir/ may import fhir-kit-client.' },
            { name: 'express', message: 'Only src/http/ may import express.' },
            ...DB_CLIENTS.map((name) => ({
              name,
              message: 'Only src/storage/ may import database clients.',
            })),
          ],
        },
      ],
    },
  },
  {
    files: ['src/fhir/**', 'src/sandbox/**', 'scripts/**', 'test/**'],
    rules: { 'no-restricted-imports': 'off' },
  },
  {
    files: ['src/storage/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'fhir-kit-client', message: 'Only src/fhir/ may import fhir-kit-client.' },
            { name: 'express', message: 'Only src/http/ may import express.' },
          ],
        },
      ],
    },
  },
  {
    files: ['src/http/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'fhir-kit-client', message: 'Only src/fhir/ may import fhir-kit-client.' },
            ...DB_CLIENTS.map((name) => ({
              name,
              message: 'Only src/storage/ may import database clients.',
            })),
          ],
        },
      ],
    },
  },
  {
    files: ['src/rules/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'The clinical core takes `now` as input.',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'The clinical core takes `now` as input.',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'The clinical core is deterministic.',
        },
      ],
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fhir-kit-client', 'express', 'pino', '../../http/*', '../../fhir/*'],
              message: 'The clinical core does no I/O.',
            },
          ],
        },
      ],
    },
  },
  {
    // The governance policy is pure like the clinical core: ledger and `now` in, decision out.
    files: [
      'src/governance/policy.ts',
      'src/governance/policy-config.ts',
      'src/governance/card-facts.ts',
      'src/governance/what-changed.ts',
    ],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'The policy takes `now` as input.',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'The policy takes `now` as input.',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'The policy is deterministic.',
        },
      ],
    },
  },
  {
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
