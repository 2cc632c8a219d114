import { defineConfig } from 'drizzle-kit';

// The PostgreSQL migrations; drizzle.config.ts holds SQLite's. `npm run db:generate` writes both.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/tables/postgres.ts',
  out: './drizzle/pg',
});
