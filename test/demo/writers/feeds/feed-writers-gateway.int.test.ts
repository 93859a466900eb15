import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { splitMessages } from '../../../../src/demo/send/split.ts';
import type { RenderedFile } from '../../../../src/demo/types.ts';
import {
  badFeedFiles,
  renderFamilyDoctorContractsCsv,
  renderFhirBundles,
  renderTownshipHisJson,
  renderVillageReferralsCsv,
  renderVillageVisitsCsv,
} from '../../../../src/demo/writers/feeds/index.ts';
import { startTestGateway, type TestGateway } from '../../../support/test-gateway.ts';
import { COMMUNITY, input, TOWNSHIP, VILLAGE } from './county-fixture.ts';

/**
 * The writers' files through the running gateway (registry seeded from registry/institutions.json,
 * practitioners projected from the directory, worker writing to the repository), sent as
 * `hie demo send` cuts them: every good message is accepted and written, every bad one refused
 * with 422 for its stated reason.
 */
describe.each(inject('pgServers').filter((s) => s.name === 'pg18-embedded'))(
  'feed writers through the gateway on $name',
  (server) => {
    let gw: TestGateway;
    beforeAll(async () => {
      gw = await startTestGateway(server, inject('redisUrl'));
    }, 120_000);
    afterAll(async () => gw?.close());

    /** One POST per message (a CSV row with its header), as the channel's route takes it. */
    async function send(file: RenderedFile): Promise<{ status: number; body: any }[]> {
      const token = await gw.institutionToken(file.institution);
      const { header, messages } = splitMessages(file.channel, file.bytes);
      const out = [];
      for (const m of messages) {
        const [route, type, body] = file.channel.startsWith('csv:')
          ? [
              `/ingest/csv/${file.channel.slice(4)}`,
              `text/csv; charset=${file.charset}`,
              Buffer.concat([header!, Buffer.from('\r\n'), m, Buffer.from('\r\n')]),
            ]
          : file.channel.startsWith('json:')
            ? [`/ingest/json/${file.channel.slice(5)}`, 'application/json', m]
            : ['/ingest/fhir', 'application/fhir+json', m];
        const res = await fetch(`${gw.publicUrl}${route}`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${token}`, 'Content-Type': type },
          body,
        });
        out.push({ status: res.status, body: await res.json(), location: res.headers.get('location') });
      }
      return out;
    }

    it('accepts and writes every message the writers render', async () => {
      const files = [
        ...renderVillageVisitsCsv(input(VILLAGE)),
        ...renderVillageReferralsCsv(input(VILLAGE)),
        ...renderFamilyDoctorContractsCsv(input(TOWNSHIP)),
        ...renderTownshipHisJson(input(TOWNSHIP)),
        ...renderFhirBundles(input(COMMUNITY)),
      ];
      expect(files.map((f) => f.channel)).toEqual([
        'csv:village-visits',
        'csv:village-referrals',
        'csv:family-doctor-contracts',
        'json:township-his',
        'fhir',
      ]);
      for (const file of files) {
        const answers = await send(file);
        expect(answers).toHaveLength(file.messages);
        for (const [i, a] of answers.entries()) {
          expect(a.status, `${file.path} #${i}: ${JSON.stringify(a.body)}`).toBe(202);
          const id = (a as any).location.split('/').pop();
          const settled = await gw.settled(id);
          expect(settled?.state, `${file.path} #${i}: ${JSON.stringify(settled?.outcome)}`).toBe('stored');
          expect(settled?.controlId).toBe(file.controlIds[i]);
        }
      }
      // The referral reached the repository with its category and performer (the care-relationship rule reads them).
      const res = await fetch(
        `${gw.fhirUrl}/ServiceRequest?performer=${encodeURIComponent(`Organization/${TOWNSHIP}`)}`,
        { headers: { Authorization: `Bearer ${gw.adminToken}` } },
      );
      const bundle: any = await res.json();
      const referral = bundle.entry
        .map((e: any) => e.resource)
        .find((r: any) => r.category?.[0]?.coding?.[0]?.code === '3457005');
      expect(referral.meta.source).toMatch(new RegExp(`/institution/${VILLAGE}#`));
    }, 180_000);

    it('refuses each deliberately bad message with 422 for its reason', async () => {
      const { files, failures } = badFeedFiles('messages/9-bad');
      const answers = new Map<string, { status: number; body: any }[]>();
      for (const file of files) answers.set(file.path, await send(file));
      const patterns = [
        /not a real calendar date/,
        /"6\.8mmol\/L" is not a decimal number/,
        /\/visit\/visitNo/,
        /\/referral\/to/,
        /Missing required element status/,
        /Bundle\.type must be transaction, batch, collection or message/,
      ];
      expect(failures).toHaveLength(patterns.length);
      failures.forEach((f, i) => {
        const answer = answers.get(f.path)![f.index]!;
        expect(String(answer.status), f.reason).toBe(f.expect);
        const text = (answer.body.issue ?? [])
          .map((x: any) => `${x.expression?.join(',') ?? ''} ${x.diagnostics ?? ''}`)
          .join('\n');
        expect(text, f.reason).toMatch(patterns[i]!);
      });
    }, 120_000);
  },
);
