import simpleImportSort from 'eslint-plugin-simple-import-sort';
import tseslint from 'typescript-eslint';

export default tseslint.config(
    // shared/wasm is AssemblyScript: its compiler (npm run build:wasm) type-checks it.
    { ignores: ['dist/**', 'node_modules/**', 'test/fixtures/**', 'eslint.config.js', 'shared/wasm/**'] },
    ...tseslint.configs.strictTypeChecked,
    {
        languageOptions: {
            // scripts/*.mjs are plain build steps outside the TypeScript project.
            parserOptions: {
                projectService: { allowDefaultProject: ['scripts/*.mjs'] },
                tsconfigRootDir: import.meta.dirname,
            },
        },
        plugins: { 'simple-import-sort': simpleImportSort },
        rules: {
            'simple-import-sort/imports': 'error',
            'simple-import-sort/exports': 'error',
            eqeqeq: ['error', 'always'],
            '@typescript-eslint/return-await': ['error', 'in-try-catch'],
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-explicit-any': 'error',
            '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
            '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
        },
    },
    {
        files: ['test/**/*.ts'],
        rules: {
            '@typescript-eslint/no-explicit-any': 'off',
            '@typescript-eslint/no-non-null-assertion': 'off',
            // node:test's describe/it return promises the runner itself awaits.
            '@typescript-eslint/no-floating-promises': [
                'error',
                {
                    allowForKnownSafeCalls: [
                        { from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] },
                    ],
                },
            ],
        },
    },
);
