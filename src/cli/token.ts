import { ControlStore } from '../adapters/sqlite/control-store.js';
import type { Config } from '../config.js';
import { MosaicError } from '../errors.js';
import { SCOPES, type Scope } from '../ports/credentials.js';
import { tokenView } from '../serve/token-api.js';

const print = (text: string): void => void process.stdout.write(`${text}\n`);

/**
 * `mosaic token …` works on the data directory's control store directly: whoever can read the
 * data directory holds every secret anyway. A running Mosaic sees a new or revoked token at
 * its next request (tokens are looked up per request, not cached).
 */
async function withControl<T>(config: Config, f: (control: ControlStore) => T): Promise<T> {
  const control = new ControlStore({ dir: config.dataDir });
  try {
    return f(control);
  } finally {
    await control.close();
  }
}

export function parseScopes(text: string): Scope[] {
  const asked = text.split(',').map((s) => s.trim()).filter(Boolean);
  const unknown = asked.filter((s) => !(SCOPES as readonly string[]).includes(s));
  if (!asked.length || unknown.length) {
    throw new MosaicError('MOSAIC_BAD_REQUEST', { message: `${unknown.length ? `Unknown scope${unknown.length > 1 ? 's' : ''} ${unknown.map((s) => `"${s}"`).join(', ')}` : 'No scope given'}: use a comma-separated list of ${SCOPES.join(', ')}.` });
  }
  return asked as Scope[];
}

export async function tokenCreate(config: Config, o: { scopes: string; label?: string; json?: boolean }): Promise<void> {
  const scopes = parseScopes(o.scopes);
  const created = await withControl(config, (c) => c.createToken(o.label ?? 'cli', scopes));
  if (o.json) return print(JSON.stringify({ id: created.id, token: created.token, scopes: created.scopes }));
  print(`token ${created.id} (${created.scopes.join(', ')}):\n  ${created.token}\nIt is shown only now: Mosaic keeps its hash.`);
}

export async function tokenList(config: Config, o: { json?: boolean }): Promise<void> {
  const tokens = (await withControl(config, (c) => c.tokens())).map(tokenView);
  if (o.json) return print(JSON.stringify(tokens, null, 2));
  if (!tokens.length) return print('no API tokens (one is created at first start, or set MOSAIC_API_TOKEN)');
  for (const t of tokens) print(`${t.id.padEnd(14)} ${t.label.padEnd(16)} ${t.scopes.join(',').padEnd(36)} created ${t.createdAt}${t.revokedAt ? `  REVOKED ${t.revokedAt}` : ''}`);
}

export async function tokenRevoke(config: Config, id: string): Promise<void> {
  if (!(await withControl(config, (c) => c.revokeToken(id)))) throw new MosaicError('MOSAIC_TOKEN_NOT_FOUND', { message: `No API token has the id "${id}". List them with: mosaic token list.` });
  print(`token ${id} revoked: it is refused from the next request on`);
}
