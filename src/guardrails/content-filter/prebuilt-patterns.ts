import { acceptCardNumber, acceptIban, acceptLuhn } from './checksums.js';

/**
 * One prebuilt pattern of the content filter (`pattern_type: prebuilt`). `pattern` is Python `re`
 * syntax, as LiteLLM's are; every pattern is written so that a search runs in linear time (no
 * nested unbounded quantifiers; a match can start only at the beginning of a run it scans).
 */
export interface PrebuiltPattern {
  readonly name: string;
  readonly description: string;
  /** `litellm`: LiteLLM's name and regex; `litellm-adapted`: LiteLLM's name, our regex or an added check (see docs/guardrails.md); `pdp`: ours. */
  readonly origin: 'litellm' | 'litellm-adapted' | 'pdp';
  readonly pattern: string;
  /**
   * Turns a regex match into a match: how many leading characters of it are accepted (0 rejects
   * it, e.g. a card number whose Luhn check digit is wrong). Absent: every regex match counts.
   */
  readonly accept?: (candidate: string) => number;
  /** A character every match contains: a text without it is not searched (a cheap first test). */
  readonly requires?: string;
  /** A text the pattern matches whole (documentation and tests). */
  readonly example: string;
}

const r = String.raw;

// A `\b` next to a character that is always a word character is written (?<!\w) or (?!\w): the same
// in Python, and V8 can then skip straight to candidate characters (several times faster).

// Card numbers: ASCII digits in groups separated by one whitespace character or '-'.
const CARD_SEP = r`[\s\-]?`;
// LiteLLM's, except that a number may start with '+' or '(' after a space (LiteLLM's leading \b cannot).
const US_PHONE = r`(?:(?=[+(])|(?<!\w))(?:\+?1[\s.-]?)?\(?([0-9]{3})\)?[\s.-]?([0-9]{3})[\s.-]?([0-9]{4})(?!\w)`;
// E.164: '+', a country code not starting with 0, 8 to 15 digits in all, in any grouping.
const INTL_PHONE = r`(?<![\w+])\+[1-9](?:[ .\-]?\(?[0-9]\)?){7,14}(?![0-9])`;
const H = '[0-9a-fA-F]{1,4}';

const CATALOGUE: readonly PrebuiltPattern[] = [
  { name: 'us_ssn', origin: 'litellm', description: 'US Social Security number, XXX-XX-XXXX', pattern: r`(?i)(?<!\w)\d{3}-\d{2}-\d{4}(?!\w)`, example: '123-45-6789' },
  {
    name: 'us_ssn_no_dash',
    origin: 'litellm',
    description: 'US Social Security number without dashes (9 digits; no 000/666/9xx area, 00 group or 0000 serial)',
    pattern: r`(?i)(?<!\w)(?!000|666|9\d{2})\d{3}(?!00)\d{2}(?!0000)\d{4}(?!\w)`,
    example: '123456789',
  },
  {
    name: 'email',
    origin: 'litellm-adapted',
    description: 'email address',
    // LiteLLM's shape; a match starts only where a local part starts (LiteLLM's `\b` start rescans
    // a long dotted run from every dot: quadratic time).
    requires: '@',
    pattern: r`(?i)(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}(?!\w)`,
    example: 'jane.doe+ai@example.co.uk',
  },
  { name: 'us_phone', origin: 'litellm-adapted', description: 'US phone number, with or without +1, parentheses, dots, dashes or spaces', pattern: `(?i)${US_PHONE}`, example: '(555) 123-4567' },
  { name: 'intl_phone', origin: 'pdp', description: "international phone number in E.164 style: '+', country code, 8 to 15 digits in all", requires: '+', pattern: INTL_PHONE, example: '+44 20 7946 0958' },
  { name: 'phone', origin: 'pdp', description: 'intl_phone or us_phone', pattern: `(?i)${INTL_PHONE}|${US_PHONE}`, example: '+1-555-123-4567' },
  {
    name: 'credit_card',
    origin: 'litellm-adapted',
    description: 'payment card number of any brand: 13 to 19 digits, optionally grouped by spaces or dashes, Luhn-valid',
    pattern: r`(?<![0-9])(?<![0-9][\s\-])[0-9](?:${CARD_SEP}[0-9]){12,18}(?![0-9])`,
    accept: acceptCardNumber,
    example: '4111 1111 1111 1111',
  },
  card('visa', 'Visa card number (16 digits starting with 4), Luhn-valid', r`4[0-9]{3}${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}`, '4532-0151-1283-0366'),
  card('mastercard', 'Mastercard number (16 digits starting with 51-55), Luhn-valid', r`5[1-5][0-9]{2}${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}`, '5425 2334 3010 9903'),
  card('amex', 'American Express number (15 digits starting with 34 or 37, grouped 4-6-5), Luhn-valid', r`3[47][0-9]{2}${CARD_SEP}[0-9]{6}${CARD_SEP}[0-9]{5}`, '3782-822463-10005'),
  card('discover', 'Discover card number (16 digits starting with 6011 or 65), Luhn-valid', r`6(?:011|5[0-9]{2})${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}${CARD_SEP}[0-9]{4}`, '6011 1111 1111 1117'),
  {
    name: 'iban',
    origin: 'litellm-adapted',
    description: 'IBAN, compact or in groups of four, with valid check digits (mod 97)',
    pattern: r`(?i)(?<!\w)[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)(?!\w)`,
    accept: acceptIban,
    example: 'DE89 3704 0044 0532 0130 00',
  },
  { name: 'aws_access_key', origin: 'litellm', description: 'AWS access key id (AKIA + 16)', pattern: r`(?i)(?<!\w)(AKIA[0-9A-Z]{16})(?!\w)`, example: 'AKIAIOSFODNN7EXAMPLE' },
  {
    name: 'aws_secret_key',
    origin: 'litellm',
    description: 'AWS secret access key: any 40 characters of [A-Za-z0-9/+=] (also matches 40-digit hex hashes)',
    pattern: r`(?i)\b([A-Za-z0-9/+=]{40})\b`,
    example: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
  },
  { name: 'github_token', origin: 'litellm', description: 'GitHub personal access or server token (ghp_/ghs_ + 36)', pattern: r`(?i)(?<!\w)(gh[ps]_[a-zA-Z0-9]{36})(?!\w)`, example: 'ghp_16C7e42F292c6912E7710c838347Ae178B4a' },
  {
    name: 'slack_token',
    origin: 'litellm',
    description: 'Slack API token (xoxp-, xoxb-, xoxo-, xoxa-)',
    pattern: r`(?i)(?<!\w)(xox[pboa]-[0-9]{10,13}-[0-9]{10,13}-[a-zA-Z0-9]{24,32})(?!\w)`,
    example: 'xoxb-1234567890-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx',
  },
  {
    name: 'generic_api_key',
    origin: 'litellm',
    description: "'apikey', 'api_key' or 'api-key' (any case), then ':', '=' or whitespace, then a value of 20+ letters, digits, '_' or '-'",
    pattern: r`(?i)(?<!\w)([Aa][Pp][Ii][-_]?[Kk][Ee][Yy][\s:=]+['"]?[A-Za-z0-9_\-]{20,}['"]?)\b`,
    example: 'api_key=sk_live_abcdefghijklmnop1234',
  },
  {
    name: 'private_key',
    origin: 'pdp',
    description: 'PEM private key block (BEGIN ... PRIVATE KEY to END ... PRIVATE KEY, or to the end of the base64 body if END is missing)',
    pattern: r`-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----[^-]*(?:-[^-]+)*(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----)?`,
    example: '-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\n-----END RSA PRIVATE KEY-----',
  },
  {
    name: 'jwt',
    origin: 'pdp',
    description: 'JSON Web Token: base64url JSON header and payload (both starting eyJ) and an optional signature',
    pattern: r`(?<![\w\-])eyJ[A-Za-z0-9_\-]+\.eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*`,
    example: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  },
  {
    name: 'ipv4',
    origin: 'litellm',
    description: 'IPv4 address',
    pattern: r`(?i)(?<!\w)(?:(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)\.){3}(?:25[0-5]|2[0-4][0-9]|[01]?[0-9][0-9]?)(?!\w)`,
    example: '192.168.1.10',
  },
  {
    name: 'ipv6',
    origin: 'litellm-adapted',
    description: 'IPv6 address (full or compressed); not next to a word character or colon, and not a bare "::"',
    requires: ':',
    pattern:
      `(?i)(?<![\\w:])(?=[0-9a-f]{0,4}:)(?:(?:${H}:){7}${H}|(?:${H}:){1,7}:|:(?::${H}){1,7}|(?:${H}:){1,6}:${H}|(?:${H}:){1,5}(?::${H}){1,2}` +
      `|(?:${H}:){1,4}(?::${H}){1,3}|(?:${H}:){1,3}(?::${H}){1,4}|(?:${H}:){1,2}(?::${H}){1,5}|${H}:(?::${H}){1,6})(?![\\w:])`,
    example: '2001:db8:85a3::8a2e:370:7334',
  },
  { name: 'url', origin: 'litellm', description: 'http(s) URL or www. address', pattern: r`(?i)(?<!\w)(?:https?://|www\.)[^\s/$.?#].[^\s]*\b`, example: 'https://example.com/path?q=1' },
];

function card(name: string, description: string, body: string, example: string): PrebuiltPattern {
  return { name, origin: 'litellm-adapted', description, pattern: `(?i)(?<!\\w)${body}(?!\\w)`, accept: acceptLuhn, example };
}

/** The prebuilt patterns by `pattern_name`, in catalogue order. Frozen. */
export const PREBUILT_PATTERNS: ReadonlyMap<string, PrebuiltPattern> = new Map(CATALOGUE.map((p) => [p.name, Object.freeze(p)] as const));
