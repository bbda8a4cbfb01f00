// Type-aware linting for the whole package (commands, engine, agent, reports, tests).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // test/fixtures/package and test/fixtures/express-app import the built package by name;
  // test/package-entry-e2e.test.ts and test/first-hour-e2e.test.ts run them.
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.playbook/**',
      'coverage/**',
      'test/fixtures/package/**',
      'test/fixtures/express-app/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'bin/*.js', 'scripts/*.js'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/only-throw-error': 'off',
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
)
