import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { seededRng } from '../protocol/crypto/rng.ts';
import { authority, MAX_CNAME_CHAIN, VirtualDns } from './dns.ts';
import {
  connectionCertificate,
  modelCertificate,
  presentCertificate,
  TLS_CERTIFICATE_HEADER,
} from './tls.ts';

describe('VirtualDns', () => {
  test('answers address, SRV and CNAME records, case-insensitively', () => {
    const srv = { target: 'node.example', port: 8448, priority: 0, weight: 0 };
    const dns = new VirtualDns({
      address: { 'node.example': ['10.0.0.1', '2001:db8::1'] },
      srv: { '_matrix-fed._tcp.example.org': [srv] },
      cname: { 'alias.example': 'Node.Example.' },
    });
    expect(dns.address('NODE.example')).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(dns.address('alias.example')).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(dns.cname('alias.example')).toBe('Node.Example.');
    expect(dns.srv('_matrix-fed._tcp.example.org.')).toEqual([srv]);
    expect(dns.srv('_matrix._tcp.example.org')).toEqual([]);
    expect(dns.address('missing.example')).toEqual([]);
    expect(dns.queries.map((q) => q.type)).toEqual([
      'address',
      'address',
      'cname',
      'srv',
      'srv',
      'address',
    ]);
  });

  test('records change at run time', () => {
    const dns = new VirtualDns();
    dns.setAddress('a.example', ['10.0.0.1']);
    expect(dns.address('a.example')).toEqual(['10.0.0.1']);
    dns.setAddress('a.example', []);
    expect(dns.address('a.example')).toEqual([]);
    dns.setCname('b.example', 'a.example').setAddress('a.example', ['10.0.0.2']);
    expect(dns.address('b.example')).toEqual(['10.0.0.2']);
    dns.setCname('b.example', undefined);
    expect(dns.address('b.example')).toEqual([]);
  });

  test.prop([fc.integer({ min: 1, max: 12 }), fc.boolean()], { numRuns: 100 })(
    'alias chains resolve up to the limit, loops never',
    (length, loop) => {
      const dns = new VirtualDns();
      for (let i = 0; i < length; i++) dns.setCname(`n${i}.example`, `n${i + 1}.example`);
      if (loop) dns.setCname(`n${length}.example`, 'n0.example');
      else dns.setAddress(`n${length}.example`, ['10.0.0.9']);
      const expected = !loop && length <= MAX_CNAME_CHAIN ? ['10.0.0.9'] : [];
      expect(dns.address('n0.example')).toEqual(expected);
    },
  );

  test('authority brackets IPv6', () => {
    expect(authority('10.0.0.1', 8448)).toBe('10.0.0.1:8448');
    expect(authority('2001:db8::1', 443)).toBe('[2001:db8::1]:443');
  });
});

describe('modelled TLS certificates', () => {
  test('the network stamps the certificate over anything the handler says', async () => {
    const certificate = modelCertificate(seededRng('tls'));
    const handler = presentCertificate(certificate, async () =>
      Response.json({}, { headers: { [TLS_CERTIFICATE_HEADER]: 'AAAA' } }),
    );
    const response = await handler(new Request('https://x.example/'));
    expect(connectionCertificate(response)).toEqual(certificate);
    expect(connectionCertificate(new Response(null))).toBeUndefined();
    expect(
      connectionCertificate(new Response(null, { headers: { [TLS_CERTIFICATE_HEADER]: '!!' } })),
    ).toBeUndefined();
  });
});
