// Type-aware linting for the whole package (commands, engine, agent, reports, tests).
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  // test/fixtures/package imports the built package by name; test/package-entry.test.ts checks it.
  { ignores: ['dist/**', 'node_modules/**', '.playbook/**', 'coverage/**', 'test/fixtures/package/**'] },
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
