import { describe, expect, it } from 'vitest';
import { acceptCardNumber, acceptIban, isIbanValid, isLuhnValid } from '../../../src/guardrails/content-filter/checksums.js';
import { PREBUILT_PATTERNS } from '../../../src/guardrails/content-filter/prebuilt-patterns.js';
import { GUARDRAIL_KINDS } from '../../../src/guardrails/index.js';
import type { GuardrailInput, GuardrailVerdict } from '../../../src/model/guardrail.js';
import { checkRegexSafety } from '../../../src/regex/safety/check.js';

/** Masks `text` with a content filter holding one prebuilt pattern (action MASK). */
function mask(patternName: string, text: string): string {
  const verdict = maskVerdict(patternName, text);
  if (verdict instanceof Promise) throw new Error('a small text is checked synchronously');
  if (verdict.outcome !== 'pass') throw new Error(`unexpected ${verdict.outcome}`);
  return verdict.texts?.[0] ?? text;
}

/** As mask, for any text: one larger than SLICED_MIN_CHARS is checked in steps (a promise). */
async function maskLarge(patternName: string, text: string): Promise<string> {
  const verdict = await maskVerdict(patternName, text);
  if (verdict.outcome !== 'pass') throw new Error(`unexpected ${verdict.outcome}`);
  return verdict.texts?.[0] ?? text;
}

function maskVerdict(patternName: string, text: string): GuardrailVerdict | Promise<GuardrailVerdict> {
  const kind = GUARDRAIL_KINDS.get('litellm_content_filter');
  const problems: string[] = [];
  const build = kind?.compile(
    { index: 0, name: 'cf', kind: 'litellm_content_filter', mode: 'pre_call', params: { guardrail: 'litellm_content_filter', patterns: [{ pattern_type: 'prebuilt', pattern_name: patternName, action: 'MASK' }] } },
    { env: {}, mode: 'strict', report: (_severity, _rule, message) => problems.push(message) },
  );
  if (build === undefined) throw new Error(`did not compile: ${problems.join('; ')}`);
  const input: GuardrailInput = { inputType: 'request', texts: [text], messages: [{ role: 'user', content: text }], context: { teamAlias: undefined, keyAlias: undefined, model: undefined, tags: [] }, requestId: '', signal: new AbortController().signal };
  return build.check(input);
}

const tagOf = (name: string): string => `[${name.toUpperCase()}_REDACTED]`;

interface Cases {
  /** [text, the part of it that is masked]. */
  readonly hits: readonly (readonly [string, string])[];
  /** Texts left unchanged. */
  readonly misses: readonly string[];
}

const VALID_PEM = '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----';
const ENCRYPTED_PEM = '-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89\n\nxR4VYUvG0Yw8b5HhJ0fNQ3uV\n-----END RSA PRIVATE KEY-----';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';

const CASES: Readonly<Record<string, Cases>> = {
  us_ssn: { hits: [['SSN 123-45-6789.', '123-45-6789']], misses: ['call 123-456-7890', '1234-56-7890', '123-45-67890'] },
  us_ssn_no_dash: { hits: [['id 123456789 ok', '123456789']], misses: ['000123456', '666123456', '900123456', '123001234', '123450000', '1234567890'] },
  email: {
    hits: [['mail jane.doe+ai@example.co.uk now', 'jane.doe+ai@example.co.uk'], ['Contact:JOHN@X.IO', 'JOHN@X.IO']],
    misses: ['john@localhost', 'reach @example.com', 'a.b.c', 'user@domain.c'],
  },
  us_phone: {
    hits: [['(555) 123-4567', '(555) 123-4567'], ['call 555.123.4567 now', '555.123.4567'], ['tel +1 555 123 4567', '+1 555 123 4567'], ['5551234567', '5551234567'], ['1-555-123-4567', '1-555-123-4567']],
    misses: ['555-1234', '55512345678', 'room 12-34'],
  },
  intl_phone: {
    hits: [['ring +44 20 7946 0958 today', '+44 20 7946 0958'], ['+49-30-123456', '+49-30-123456'], ['+33 (0)1 23 45 67 89', '+33 (0)1 23 45 67 89']],
    misses: ['+1 555', '44 20 7946 0958', '+0 123 456 789', 'a+442079460958'],
  },
  phone: { hits: [['+44 20 7946 0958', '+44 20 7946 0958'], ['at (555) 123-4567', '(555) 123-4567']], misses: ['12-34', 'version 1.2.3'] },
  credit_card: {
    hits: [
      ['card 4111 1111 1111 1111 ok', '4111 1111 1111 1111'],
      ['4111-1111-1111-1111', '4111-1111-1111-1111'],
      ['4111111111111111', '4111111111111111'],
      ['amex 378282246310005', '378282246310005'],
      ['13 digits 4222222222222', '4222222222222'],
      ['19 digits 6200000000000000000', '6200000000000000000'],
      ['with cvv 4111 1111 1111 1111 123', '4111 1111 1111 1111'],
    ],
    misses: ['4111 1111 1111 1112', '1234 5678 9012 3456', '411111111111', '41111111111111111111', 'order 4111-1111-1111-1113'],
  },
  visa: { hits: [['pay 4532-0151-1283-0366 now', '4532-0151-1283-0366']], misses: ['4532-0151-1283-0367', '5425 2334 3010 9903', '4222222222222'] },
  mastercard: { hits: [['5425 2334 3010 9903', '5425 2334 3010 9903']], misses: ['5425 2334 3010 9904', '5625 2334 3010 9903', '4111 1111 1111 1111'] },
  amex: { hits: [['3782-822463-10005', '3782-822463-10005'], ['378282246310005', '378282246310005']], misses: ['3782-822463-10006', '4111 1111 1111 1111'] },
  discover: { hits: [['6011 1111 1111 1117', '6011 1111 1111 1117'], ['6500000000000002', '6500000000000002']], misses: ['6011 1111 1111 1118', '4111 1111 1111 1111'] },
  iban: {
    hits: [
      ['to DE89 3704 0044 0532 0130 00 please', 'DE89 3704 0044 0532 0130 00'],
      ['DE89370400440532013000', 'DE89370400440532013000'],
      ['GB82 WEST 1234 5698 7654 32', 'GB82 WEST 1234 5698 7654 32'],
      ['lower gb82west12345698765432', 'gb82west12345698765432'],
      ['BE68 5390 0754 7034 with care', 'BE68 5390 0754 7034'],
      ['NO9386011117947', 'NO9386011117947'],
    ],
    misses: ['DE88 3704 0044 0532 0130 00', 'DE89370400440532013001', 'GB82 WEST 1234', 'AB12 CDEF GHIJ KLMN'],
  },
  aws_access_key: { hits: [['key AKIAIOSFODNN7EXAMPLE.', 'AKIAIOSFODNN7EXAMPLE']], misses: ['AKIAIOSFODNN7EXAMPL', 'XAKIAIOSFODNN7EXAMPLE'] },
  aws_secret_key: {
    hits: [['secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY']],
    misses: ['wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYS'],
  },
  github_token: {
    hits: [['token ghp_16C7e42F292c6912E7710c838347Ae178B4a', 'ghp_16C7e42F292c6912E7710c838347Ae178B4a']],
    misses: ['ghp_16C7e42F292c6912E7710c838347Ae178B4', 'gho_16C7e42F292c6912E7710c838347Ae178B4a'],
  },
  slack_token: {
    hits: [['xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx']],
    misses: ['xoxc-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx', 'xoxb-123-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx'],
  },
  generic_api_key: {
    hits: [['set api_key=sk_live_abcdefghijklmnop1234 now', 'api_key=sk_live_abcdefghijklmnop1234'], ['API-KEY: abcdefghijklmnopqrstuvwxyz', 'API-KEY: abcdefghijklmnopqrstuvwxyz']],
    misses: ['api_key=short', 'the api is key to abcdefghijklmnopqrstuvwxyz'],
  },
  private_key: {
    hits: [
      [`here:\n${VALID_PEM}\nthanks`, VALID_PEM],
      [ENCRYPTED_PEM, ENCRYPTED_PEM],
      ['cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC', '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC'],
    ],
    misses: ['-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34Gkx\n-----END PUBLIC KEY-----', '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----'],
  },
  jwt: { hits: [[`Bearer ${JWT}`, JWT]], misses: ['eyJhbGciOiJIUzI1NiJ9', 'abc.def.ghi', 'xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig'] },
  ipv4: { hits: [['host 192.168.1.10 up', '192.168.1.10'], ['10.0.0.1', '10.0.0.1']], misses: ['256.1.1.1', '1.2.3', '999.999.999.999'] },
  ipv6: {
    hits: [['addr 2001:db8:85a3::8a2e:370:7334 ok', '2001:db8:85a3::8a2e:370:7334'], ['2001:0db8:85a3:0000:0000:8a2e:0370:7334', '2001:0db8:85a3:0000:0000:8a2e:0370:7334'], ['loopback ::1', '::1'], ['fe80::1', 'fe80::1']],
    misses: ['std::vector', 'Foo::Bar', 'at 12:30:45', 'just :: here'],
  },
  url: { hits: [['see https://example.com/path?q=1 now', 'https://example.com/path?q=1'], ['www.example.org', 'www.example.org']], misses: ['example.com', 'ftp://x.y'] },
};

describe('prebuilt patterns', () => {
  it('has true and false positive cases for every prebuilt pattern', () => {
    expect(Object.keys(CASES).sort()).toEqual([...PREBUILT_PATTERNS.keys()].sort());
  });

  for (const [name, { hits, misses }] of Object.entries(CASES)) {
    it(`${name}: masks what it should and nothing else`, () => {
      for (const [text, part] of hits) expect(mask(name, text), JSON.stringify(text)).toBe(text.replace(part, tagOf(name)));
      for (const text of misses) expect(mask(name, text), JSON.stringify(text)).toBe(text);
    });
  }

  it('matches each documented example whole', () => {
    for (const p of PREBUILT_PATTERNS.values()) expect(mask(p.name, `<${p.example}>`), p.name).toBe(`<${tagOf(p.name)}>`);
  });

  it('masks every occurrence, not just the first', () => {
    expect(mask('email', 'a@x.io, b@y.io and c@z.io')).toBe('[EMAIL_REDACTED], [EMAIL_REDACTED] and [EMAIL_REDACTED]');
    expect(mask('credit_card', '4111 1111 1111 1112 then 4111 1111 1111 1111')).toBe('4111 1111 1111 1112 then [CREDIT_CARD_REDACTED]');
  });

  it('passes the catastrophic-backtracking check', () => {
    for (const p of PREBUILT_PATTERNS.values()) expect(checkRegexSafety(p.pattern), p.name).toBeUndefined();
  });

  // Inputs that make naive patterns rescan a long run from every position; a hang here fails the test by timeout.
  it('scans 200 KB of adversarial text with every pattern without hanging', { timeout: 60_000 }, async () => {
    const n = 200_000;
    const inputs = ['a.', 'a@', '1 ', '1', '1:', 'abcd:', '-----BEGIN PRIVATE KEY-----', 'eyJa.', 'http://a!', 'api_key=', '+1 ', 'DE89 ', '(555', '1.1.1.', '1-'].map((unit) =>
      unit.repeat(Math.ceil(n / unit.length)),
    );
    for (const p of PREBUILT_PATTERNS.values()) for (const text of inputs) expect(typeof (await maskLarge(p.name, text))).toBe('string');
  });
});

describe('check digits', () => {
  it('isLuhnValid accepts valid and rejects altered card numbers', () => {
    expect(isLuhnValid('4111111111111111')).toBe(true);
    expect(isLuhnValid('4111111111111112')).toBe(false);
    expect(isLuhnValid('79927398713')).toBe(true);
    expect(isLuhnValid('')).toBe(false);
    expect(isLuhnValid('4111a11111111111')).toBe(false);
  });

  it('isIbanValid checks mod 97 and the length, case-insensitively', () => {
    expect(isIbanValid('DE89370400440532013000')).toBe(true);
    expect(isIbanValid('de89370400440532013000')).toBe(true);
    expect(isIbanValid('DE88370400440532013000')).toBe(false);
    expect(isIbanValid('DE8937040044')).toBe(false);
  });

  it('acceptCardNumber drops trailing groups only, never digits inside a group', () => {
    expect(acceptCardNumber('4111 1111 1111 1111 123')).toBe(19);
    expect(acceptCardNumber('4111 1111 1111 1112 123')).toBe(0);
    expect(acceptCardNumber('41111111111111111')).toBe(0);
  });

  it('acceptIban drops trailing space-separated groups that are not part of the IBAN', () => {
    expect(acceptIban('BE68 5390 0754 7034 with')).toBe(19);
    expect(acceptIban('DE88 3704 0044 0532 0130 00')).toBe(0);
  });
});
