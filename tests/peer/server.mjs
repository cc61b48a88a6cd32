// A well-known peer for the refresh benchmark (tests/bench-peer.sh):
// node-oidc-provider with its in-memory store (the provider's adapter), refresh tokens rotated on every use (a
// replay revokes the grant, as Tessera revokes the family), ES256 signing like Tessera's
// default, one confidential client with HTTP Basic.
//
//   node server.mjs PORT CHAINS SECRET TOKENS_FILE
//
// It seeds CHAINS grants with a refresh token each (the load driver's --refresh-tokens),
// writes them to TOKENS_FILE one per line, then serves until killed.
import { generateKeyPairSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';

import Provider from 'oidc-provider';
import MemoryAdapter from 'oidc-provider/lib/adapters/memory_adapter.js';
import LRU from 'oidc-provider/lib/helpers/lru.js';

const [port, chains, secret, tokensFile] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwk = { ...privateKey.export({ format: 'jwk' }), alg: 'ES256', use: 'sig', kid: 'bench' };

// The provider's own in-memory adapter, with room for every token of the run: the
// default store keeps 1,000 entries, so under load it evicts live grants and chains break.
const store = new LRU({ maxSize: 10_000_000 });

const provider = new Provider(issuer, {
  adapter: (model) => new MemoryAdapter(model, store),
  clients: [{
    client_id: 'bench',
    client_secret: secret,
    grant_types: ['authorization_code', 'refresh_token'],
    redirect_uris: ['http://127.0.0.1:5173/'],
    token_endpoint_auth_method: 'client_secret_basic',
    id_token_signed_response_alg: 'ES256',
  }],
  jwks: { keys: [jwk] },
  scopes: ['openid', 'offline_access'],
  rotateRefreshToken: true,
  findAccount: (ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
  features: { devInteractions: { enabled: false } },
});

const client = await provider.Client.find('bench');
const now = Math.floor(Date.now() / 1000);
const tokens = [];
for (let i = 0; i < Number(chains); i += 1) {
  const accountId = `bench${i}`;
  const grant = new provider.Grant({ accountId, clientId: 'bench' });
  grant.addOIDCScope('openid offline_access');
  const grantId = await grant.save();
  const rt = new provider.RefreshToken({
    accountId, client, grantId, scope: 'openid offline_access', gty: 'authorization_code',
    authTime: now, iiat: now, rotations: 0,
  });
  tokens.push(await rt.save());
}
writeFileSync(tokensFile, `${tokens.join('\n')}\n`);
provider.listen(Number(port), '127.0.0.1');
