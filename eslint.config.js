import { defineConfig, globalIgnores } from 'eslint/config';
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['node_modules/**', '.data/**', 'coverage/**', 'dist/**', '.scratch-*/**', '.bench-data/**']),
  eslint.configs.recommended,
  tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      // FHIR resources are open-ended JSON; `any` is sometimes the honest type at the edge.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
);
