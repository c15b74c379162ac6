// Takes the README's dashboard screenshot: starts the built AppHost (./build.sh builds it) with a state directory of
// its own, waits until the sample is deployed, opens the login URL the AppHost prints in Debian's chromium, waits for
// the Blazor page to render the resources, saves the picture, and stops the AppHost (Ctrl+C) again.
//
//   npm ci --prefix tools/dashboard-screenshot && node tools/dashboard-screenshot/screenshot.mjs [output.png]
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const output = resolve(process.argv[2] ?? join(root, 'docs', 'images', 'dashboard.png'));
const browser = process.env.CHROMIUM ?? '/usr/bin/chromium';
const state = mkdtempSync(join(tmpdir(), 'hyperion-screenshot-'));
// Under root PostgreSQL runs as the postgres user, who must be able to enter the state directory.
chmodSync(state, 0o755);
const timeoutMs = 5 * 60 * 1000;

const appHost = spawn('dotnet', [join(root, 'Hyperion.AppHost/bin/Release/net10.0/Hyperion.AppHost.dll'), `--Hyperion:StateDirectory=${state}`],
  { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
let printed = '';
appHost.stdout.on('data', chunk => { printed += chunk; });
appHost.stderr.on('data', chunk => { printed += chunk; });

async function waitFor(pattern) {
  const started = Date.now();
  for (;;) {
    const match = printed.match(pattern);
    if (match) return match;
    if (appHost.exitCode !== null || Date.now() - started > timeoutMs) {
      throw new Error(`the AppHost did not print ${pattern} (exit code ${appHost.exitCode}, signal ${appHost.signalCode}); it printed:\n${printed}`);
    }
    await new Promise(r => setTimeout(r, 500));
  }
}

try {
  const [, loginUrl] = await waitFor(/Login to the dashboard at (\S+)/);
  await waitFor(/Sample model 'digits' is deployed/);
  console.log(`graph is up; signing in at ${loginUrl.replace(/t=.*/, 't=...')}`);
  const chrome = await chromium.launch({ executablePath: browser, args: ['--no-sandbox'] });
  try {
    const page = await chrome.newPage({ viewport: { width: 1600, height: 900 } });
    await page.goto(loginUrl);
    // The resources grid is rendered by Blazor after the page loads: wait for the rows, then for their states.
    await page.getByText('gateway', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.getByText('inference-1', { exact: true }).first().waitFor({ timeout: 60_000 });
    await page.waitForTimeout(3000);
    mkdirSync(dirname(output), { recursive: true });
    await page.screenshot({ path: output });
    console.log(`wrote ${output}`);
  } finally {
    await chrome.close();
  }
} finally {
  appHost.kill('SIGINT');
  await new Promise(r => appHost.exitCode !== null ? r() : appHost.on('exit', r));
  // DCP stops PostgreSQL and Redis a moment after the AppHost exits: they may still be writing there.
  rmSync(state, { recursive: true, force: true, maxRetries: 20, retryDelay: 500 });
}
