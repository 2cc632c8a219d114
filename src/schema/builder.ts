import SchemaBuilder from '@pothos/core';
import ErrorsPlugin from '@pothos/plugin-errors';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { GraphQLError, GraphQLObjectType, type GraphQLSchema } from 'graphql';
import type { FileUpload } from 'graphql-upload-minimal';
import type { Context } from '../context.ts';
import { decodeId } from './ids.ts';

/** Whether `typename` is an object type of this schema implementing Node, which `node(id:)` resolves. */
function isNodeType(schema: GraphQLSchema, typename: string): boolean {
  const type = typename ? schema.getType(typename) : undefined;
  return type instanceof GraphQLObjectType && type.getInterfaces().some((i) => i.name === 'Node');
}

export const builder = new SchemaBuilder<{
  Context: Context;
  AuthScopes: { merchant: boolean; platform: boolean; signedIn: boolean };
  Scalars: {
    DateTime: { Input: Date; Output: Date | number };
    Upload: { Input: Promise<FileUpload>; Output: never };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
}>({
  plugins: [ScopeAuthPlugin, ErrorsPlugin, RelayPlugin],
  defaultFieldNullability: false,
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      signedIn: ctx.viewer != null,
      merchant: ctx.viewer?.role === 'merchant',
      platform: ctx.viewer?.role === 'platform',
    }),
    unauthorizedError: (_parent, ctx) =>
      ctx.viewer
        ? new GraphQLError('Your role may not use this field', { extensions: { code: 'FORBIDDEN', http: { status: 200 } } })
        : new GraphQLError('Sign in: send Authorization: Bearer <token>', {
            extensions: { code: 'UNAUTHENTICATED', http: { status: 200 } },
          }),
  },
  relay: {
    // A malformed global ID names nothing (see ids.ts): each field answers it as an unknown id.
    decodeGlobalID: decodeId,
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: {
      description: 'Any object by its global ID, if the viewer may see it; null otherwise (another shop\'s objects do not exist for a merchant).',
      authScopes: { signedIn: true },
      // An id of no node type (malformed, or a type's that is not a node) is null, as an unknown one is.
      resolve: (_root, { id }, _ctx, info, resolveNode) => (isNodeType(info.schema, id.typename) ? resolveNode(id) : null),
    },
    nodesQueryOptions: false,
    idFieldOptions: { description: 'Global ID: opaque, stable, usable with `node(id:)`.' },
    nodeTypeOptions: { description: 'An object with a global ID that `node(id:)` can fetch.' },
    pageInfoTypeOptions: { description: 'Where a page stands in its list.' },
    edgesFieldOptions: { description: 'The items of this page, in list order.' },
    pageInfoFieldOptions: { description: 'Whether more pages follow, and the cursors of this page.' },
    cursorFieldOptions: { description: 'Pass as `after` to continue after this item.' },
    nodeFieldOptions: { description: 'The item.' },
    hasNextPageFieldOptions: { description: 'True when items follow this page.' },
    hasPreviousPageFieldOptions: { description: 'True when this page was asked for with a cursor.' },
    startCursorFieldOptions: { description: 'Cursor of the first item of this page; null on an empty page.' },
    endCursorFieldOptions: { description: 'Cursor of the last item of this page; null on an empty page.' },
  },
  errors: {
    directResult: true,
  },
});

builder.queryType({ description: 'Reads. Every field needs a token; merchant fields show only the signed-in shop\'s data.' });
builder.mutationType({ description: 'Writes: the merchant answers evidence requests; the platform records, asks and rules.' });
builder.subscriptionType({ description: 'Live pushes over graphql-ws on the same /graphql path.' });
