import { defineConfig } from 'drizzle-kit';

// The SQLite migrations; drizzle.pg.config.ts holds PostgreSQL's. `npm run db:generate` writes both.
export default defineConfig({
  dialect: 'sqlite',
  schema: './src/db/tables/sqlite.ts',
  out: './drizzle/sqlite',
});
