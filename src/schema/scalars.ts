import { GraphQLError, Kind } from 'graphql';
import { GraphQLUpload } from 'graphql-upload-minimal';
import { isoString } from '../clock.ts';
import { builder } from './builder.ts';

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})$/;

function parseDateTime(value: unknown): Date {
  const date = typeof value === 'string' && ISO.test(value) ? new Date(value) : null;
  if (!date || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime must be an ISO 8601 string with a time zone, e.g. 2026-11-26T08:00:00Z');
  }
  return date;
}

builder.scalarType('DateTime', {
  description: 'An instant as an ISO 8601 string in UTC, e.g. `2026-11-26T08:00:00.000Z`. Inputs must carry a time zone.',
  serialize: (value) => (typeof value === 'number' ? isoString(value) : new Date(value).toISOString()),
  parseValue: parseDateTime,
  parseLiteral: (ast) => parseDateTime(ast.kind === Kind.STRING ? ast.value : null),
});

builder.addScalarType('Upload', GraphQLUpload, {
  description: 'A file in a GraphQL multipart request (graphql-multipart-request-spec), as apollo-upload-client sends it.',
});
