import { Auth, resolveSecret } from '../auth.ts';
import { ConfigError, loadConfig } from '../config.ts';

// npm run --silent token -- merchant <merchantId> [sub] [expiresIn]
// npm run --silent token -- platform <agentId> [expiresIn]
const [role, id, ...rest] = process.argv.slice(2);
const usage = 'usage: token merchant <merchantId> [staffId] [expiresIn, e.g. 8h] | token platform <agentId> [expiresIn]';

async function main(): Promise<void> {
  if ((role !== 'merchant' && role !== 'platform') || !id) {
    console.error(usage);
    process.exit(2);
  }
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const auth = new Auth(resolveSecret(config.authSecret, config.dataDir));
  const token =
    role === 'merchant'
      ? await auth.sign({ role, sub: rest[0] ?? `${id}-staff`, merchantId: id }, rest[1])
      : await auth.sign({ role, sub: id }, rest[0]);
  process.stdout.write(`${token}\n`);
}

void main();
