import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DEPLOY = fileURLToPath(new URL('../deploy/', import.meta.url));

/** promtool comes with Debian's prometheus package; .ci/run installs it. */
function promtool(...args: string[]) {
  const run = spawnSync('promtool', args, { cwd: DEPLOY, encoding: 'utf8', timeout: 30_000 });
  if (run.error) throw new Error(`promtool is needed for this test (apt-get install prometheus): ${run.error.message}`);
  return run;
}

describe('the Prometheus alert rules under deploy/', () => {
  it('are valid rules', () => {
    const run = promtool('check', 'rules', 'prometheus-alerts.yml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
  });

  it('page for late expiries and for a failing or stopped sweep, and stay quiet otherwise', () => {
    const run = promtool('test', 'rules', 'prometheus-alerts.test.yml');
    expect(run.status, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('SUCCESS');
  });
});
