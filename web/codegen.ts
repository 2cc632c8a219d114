import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed operations from the committed schema.graphql; runs first in `npm run build:web`,
// so the pages' types never drift from the schema. Paths are from the project root.
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['web/src/**/*.{ts,tsx}', '!web/src/gql/**'],
  generates: {
    'web/src/gql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        enumsAsTypes: true,
        useTypeImports: true,
        avoidOptionals: { field: true, inputValue: false, object: false },
        scalars: { DateTime: 'string', Upload: 'File' },
      },
    },
  },
};

export default config;
