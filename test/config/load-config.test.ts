import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENV_VARS } from '../../src/config/env-vars.ts';
import { ConfigError, loadConfig } from '../../src/config/load-config.ts';

describe('loadConfig', () => {
  it('gives the documented defaults with an empty environment', () => {
    const c = loadConfig({}, '/srv/hie');
    expect(c).toMatchObject({
      port: 8080,
      mllpPort: 2575,
      dataDir: '/srv/hie/.data',
      databaseUrl: undefined,
      redisUrl: undefined,
      publicUrl: 'http://localhost:8080',
      fhirBaseUrl: 'http://localhost:8080/fhir',
      canonicalBase: 'https://county-hie.org/fhir',
      demoIssuer: true,
      careRelationshipDays: 730,
      btgMinutes: 60,
      consentDefault: 'permit',
    });
  });

  it('turns the demo issuer off by default with an external database', () => {
    expect(loadConfig({ DATABASE_URL: 'postgres://db/hie' }).demoIssuer).toBe(false);
    expect(loadConfig({ DATABASE_URL: 'postgres://db/hie', HIE_DEMO_ISSUER: 'on' }).demoIssuer).toBe(true);
  });

  it.each([
    ['PORT', 'eighty', /PORT: expected a whole number/],
    ['PORT', '70000', /PORT: expected a number from 0 to 65535/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL: expected a postgres: or postgresql: URL/],
    ['HIE_CONSENT_DEFAULT', 'maybe', /HIE_CONSENT_DEFAULT: expected one of permit, deny/],
    [
      'HIE_TRUSTED_ISSUERS',
      '[{"issuer":"a","jwksUri":"b","audience":"c","algorithms":["HS256"]}]',
      /not an asymmetric/,
    ],
    ['HIE_PUBLIC_URL', 'not a url', /HIE_PUBLIC_URL: not a URL/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });

  it('takes MLLP TLS files all together or not at all', () => {
    expect(loadConfig({}, '/srv').mllpTls).toBeUndefined();
    const tls = loadConfig(
      { HIE_MLLP_TLS_CERT: 'c.pem', HIE_MLLP_TLS_KEY: 'k.pem', HIE_MLLP_TLS_CA: '/etc/ca.pem' },
      '/srv',
    ).mllpTls;
    expect(tls).toEqual({ certFile: '/srv/c.pem', keyFile: '/srv/k.pem', caFile: '/etc/ca.pem' });
    expect(() => loadConfig({ HIE_MLLP_TLS_CERT: 'c.pem', HIE_MLLP_TLS_CA: 'ca.pem' })).toThrow(
      /HIE_MLLP_TLS_KEY/,
    );
  });

  it('documents every variable in the README table', () => {
    const readme = readFileSync(path.join(import.meta.dirname, '../../README.md'), 'utf8');
    // A table row naming the variable in its first cell (Prettier pads cells with spaces).
    for (const v of ENV_VARS) expect(readme, v.name).toMatch(new RegExp(`^\\| \`${v.name}\` +\\|`, 'm'));
  });
});
