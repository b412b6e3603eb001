import {
  acceptAbn,
  acceptBsn,
  acceptCardNumber,
  acceptCnpj,
  acceptCompactIban,
  acceptCpf,
  acceptIban,
  acceptLuhn,
  acceptMedicare,
  acceptNir,
  acceptTfn,
} from './checksums.js';
import { DANGEROUS_CONTENT_TERMS, PROTECTED_CLASS_TERMS } from './prebuilt-terms.js';

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
  /**
   * LiteLLM's contextual patterns: a match counts only near a match of `keyword` (a Python regex,
   * matched case-insensitively): overlapping it, or separated from it by at most one word and no
   * digit. With `wordNumbers`, digits spelled out as words ("one two three ...") count too.
   */
  readonly context?: { readonly keyword: string; readonly wordNumbers?: boolean };
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

/** A word-list pattern: LiteLLM's term list between word boundaries, as LiteLLM writes it. */
function termList(name: string, what: string, terms: readonly string[]): PrebuiltPattern {
  return { name, origin: 'litellm', description: `${what}: ${name.replaceAll('_', ' ')}`, pattern: `(?i)\\b(?:${terms.join('|')})\\b`, example: TERM_EXAMPLES[name] ?? '' };
}

const TERM_EXAMPLES: Readonly<Record<string, string>> = {
  gender_sexual_orientation: 'non-binary',
  race_ethnicity_national_origin: 'Hispanic',
  religion: 'Muslim',
  age_discrimination: 'senior citizen',
  disability: 'wheelchair',
  marital_family_status: 'divorced',
  military_status: 'active duty',
  public_assistance: 'food stamps',
  weapons_firearms: 'assault rifle',
  weapons_other: 'switchblade',
  explosives: 'pipe bomb',
  violence_threats: 'massacre',
  terrorism: 'sleeper cell',
  self_harm_suicide: 'suicidal',
  illegal_activities: 'money laundering',
  harassment_hate: 'harassment',
};

// Passport numbers by country, in LiteLLM's shapes; none has a check digit of its own.
const PASSPORTS: readonly PrebuiltPattern[] = [
  passport('us', 'US', '9 digits, or a letter and 8 digits', r`[A-Z][0-9]{8}|[0-9]{9}`, 'A12345678'),
  passport('uk', 'UK', '9 digits', r`[0-9]{9}`, '123456789'),
  passport('germany', 'German', '9 characters of C-Z (no vowels) and digits', r`[CFGHJKLMNPRTVWXYZ0-9]{9}`, 'C01X00T47'),
  passport('france', 'French', '2 digits, 2 letters, 5 digits', r`[0-9]{2}[A-Z]{2}[0-9]{5}`, '12AB34567'),
  passport('netherlands', 'Dutch', '2 letters, 6 letters or digits, a digit', r`[A-Z]{2}[A-Z0-9]{6}[0-9]`, 'NP8CH2KF4'),
  passport('canada', 'Canadian', '2 letters and 6 digits, or a letter, 6 digits and 2 letters', r`[A-Z]{2}[0-9]{6}|[A-Z][0-9]{6}[A-Z]{2}`, 'AB123456'),
  passport('india', 'Indian', 'a letter and 7 digits', r`[A-Z][0-9]{7}`, 'J8369854'),
  passport('australia', 'Australian', 'a letter and 7 digits', r`[A-Z][0-9]{7}`, 'N1234567'),
  passport('china', 'Chinese', 'E or G and 8 digits', r`[EG][0-9]{8}`, 'E12345678'),
  passport('japan', 'Japanese', '2 letters and 7 digits', r`[A-Z]{2}[0-9]{7}`, 'TK1234567'),
];

function passport(country: string, adjective: string, shape: string, body: string, example: string): PrebuiltPattern {
  return { name: `passport_${country}`, origin: 'litellm', description: `${adjective} passport number: ${shape}`, pattern: `(?i)(?<!\\w)(?:${body})(?!\\w)`, example };
}

// Every "near a keyword" pattern's keyword list starts and ends at a word boundary.
const near = (keyword: string, wordNumbers = false): PrebuiltPattern['context'] => ({ keyword: `(?<!\\w)(?:${keyword})(?!\\w)`, wordNumbers });

// National identifiers, tax and postal numbers, phones and addresses of LiteLLM's catalogue.
const NATIONAL_IDS: readonly PrebuiltPattern[] = [
  {
    name: 'nl_bsn_contextual',
    origin: 'litellm-adapted',
    description: 'Dutch citizen service number (BSN): 9 digits passing the 11-proof, next to a BSN keyword; spelled-out digits count',
    pattern: r`(?<!\w)[0-9]{9}(?!\w)`,
    accept: acceptBsn,
    context: near(r`bsn|b\.s\.n|burger\s*service\s*nummer|burgerservicenummer|sofi\s*nummer|persoonsnummer|identificatienummer|citizen\s*service\s*number`, true),
    example: 'BSN 111222333',
  },
  { name: 'br_cpf', origin: 'litellm-adapted', description: 'Brazilian CPF, formatted (XXX.XXX.XXX-XX or /XX), with valid check digits', pattern: r`(?<![0-9])[0-9]{3}\.[0-9]{3}\.[0-9]{3}[-/][0-9]{2}(?![0-9])`, accept: acceptCpf, example: '529.982.247-25' },
  { name: 'br_cpf_unformatted', origin: 'litellm-adapted', description: 'Brazilian CPF, 11 digits, with valid check digits', pattern: r`(?<!\w)[0-9]{11}(?!\w)`, accept: acceptCpf, example: '52998224725' },
  {
    name: 'br_phone_landline',
    origin: 'litellm-adapted',
    description: 'Brazilian phone number: optional (area code), then 4 or 5 (starting with 9) digits, optional -, 4 digits',
    pattern: r`(?<![0-9])(?:\(?[0-9]{2}\)?\s?)?(?:9[0-9]{4}|[0-9]{4})-?[0-9]{4}(?![0-9])`,
    example: '(11) 3456-7890',
  },
  {
    name: 'br_phone_mobile',
    origin: 'litellm-adapted',
    description: 'Brazilian mobile number: optional +country code and (area code), then 9 and 8 more digits, optional -',
    pattern: r`(?<![0-9+])(?:\+[0-9]{1,3}\s?)?(?:\(?[0-9]{2}\)?\s?)?9[0-9]{4}-?[0-9]{4}(?![0-9])`,
    example: '+55 (11) 98765-4321',
  },
  { name: 'br_cep', origin: 'litellm', description: 'Brazilian postal code (CEP): XXXXX-XXX or 8 digits', pattern: r`(?<!\w)[0-9]{5}-?[0-9]{3}(?!\w)`, example: '01310-100' },
  { name: 'br_cnpj', origin: 'litellm-adapted', description: 'Brazilian company number (CNPJ), XX.XXX.XXX/XXXX-XX, with valid check digits', pattern: r`(?<![0-9])[0-9]{2}\.[0-9]{3}\.[0-9]{3}/[0-9]{4}-[0-9]{2}(?![0-9])`, accept: acceptCnpj, example: '11.222.333/0001-81' },
  { name: 'br_rg', origin: 'litellm', description: 'Brazilian identity card (RG) of SP, RJ and MG: X.XXX.XXX-D or XX.XXX.XXX-D (D a digit or X)', pattern: r`(?i)(?<!\w)[0-9]{1,2}\.[0-9]{3}\.[0-9]{3}-[0-9X](?!\w)`, example: '12.345.678-9' },
  {
    name: 'au_tfn',
    origin: 'litellm-adapted',
    description: 'Australian tax file number: 8 or 9 digits with a valid check digit, next to a TFN keyword',
    pattern: r`(?<!\w)[0-9]{8,9}(?!\w)`,
    accept: acceptTfn,
    context: near(r`tfn|t\.f\.n|tax\s*file(?:\s*(?:number|no))?|ato\s*number`),
    example: 'TFN 123456782',
  },
  { name: 'au_abn', origin: 'litellm-adapted', description: 'Australian business number (ABN): 11 digits, optionally XX XXX XXX XXX, with a valid checksum', pattern: r`(?<!\w)[0-9]{2}\s?[0-9]{3}\s?[0-9]{3}\s?[0-9]{3}(?!\w)`, accept: acceptAbn, example: '51 824 753 556' },
  {
    name: 'au_medicare',
    origin: 'litellm-adapted',
    description: 'Australian Medicare number: XXXX XXXXX X (10 digits, an 11th for the individual), first 2-6, valid check digit',
    pattern: r`(?<!\w)[2-6][0-9]{3}\s?[0-9]{5}\s?[0-9]{1,2}(?!\w)`,
    accept: acceptMedicare,
    example: '2123 45670 1',
  },
  { name: 'fr_nir', origin: 'litellm-adapted', description: 'French social security number (NIR): 15 digits (sex, year, month, place, order, key) with a valid key', pattern: r`(?<!\w)[12][0-9]{2}(?:0[1-9]|1[0-2])[0-9]{10}(?!\w)`, accept: acceptNir, example: '255081416802538' },
  { name: 'eu_iban_enhanced', origin: 'litellm-adapted', description: 'IBAN without spaces: country, check digits, 4-character bank code, 7 digits, up to 16 more, with valid check digits', pattern: r`(?i)(?<!\w)[A-Z]{2}[0-9]{2}[A-Z0-9]{4}[0-9]{7}[A-Z0-9]{0,16}(?!\w)`, accept: acceptCompactIban, example: 'DE89370400440532013000' },
  { name: 'fr_phone', origin: 'litellm', description: 'French phone number: +33, 0033 or 0, then 9 digits not starting with 0', pattern: r`(?<![0-9])(?:\+33|0033|0)[1-9][0-9]{8}(?!\w)`, example: '+33612345678' },
  {
    name: 'eu_vat',
    origin: 'litellm',
    description: 'EU VAT number: a member state code and 8-12 letters or digits, next to a VAT keyword',
    pattern: r`(?i)(?<!\w)(?:AT|BE|BG|CY|CZ|DE|DK|EE|EL|ES|FI|FR|HR|HU|IE|IT|LT|LU|LV|MT|NL|PL|PT|RO|SE|SI|SK)[0-9A-Z]{8,12}(?!\w)`,
    context: near(r`vat|v\.a\.t|tva|iva|btw|mwst|value\s*added\s*tax|tax\s*number|tax\s*id|fiscal\s*number|fiscal\s*code`),
    example: 'VAT DE123456789',
  },
  {
    name: 'eu_passport_generic',
    origin: 'litellm',
    description: 'EU passport number in the French style (2 digits, 2 letters, 5 digits), next to a passport keyword',
    pattern: r`(?i)(?<!\w)[0-9]{2}[A-Z]{2}[0-9]{5}(?!\w)`,
    context: near(r`passport|passeport|travel\s*document|document\s*number|reisepass|paspoort|paszport`),
    example: 'passport 12AB34567',
  },
  {
    name: 'fr_postal_code',
    origin: 'litellm',
    description: 'French postal code: 5 digits, next to a postal code keyword',
    pattern: r`(?<!\w)[0-9]{5}(?!\w)`,
    context: near(r`code\s*postal|postal\s*code|cp|zip\s*code|postcode`),
    example: 'code postal 75008',
  },
  {
    name: 'street_address',
    origin: 'litellm-adapted',
    description: 'street address: a house number, up to 6 words, and a street type (Street, St, Avenue, Ave, Road, Rd, Boulevard, Blvd, Drive, Dr, Lane, Ln, Way, Court, Ct, Place, Pl, Circle, Cir)',
    pattern: r`(?i)(?<!\w)[0-9]{1,6}(?:\s+[A-Za-z0-9][A-Za-z0-9.'\-]*){1,6}?\s+(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Drive|Dr|Lane|Ln|Way|Court|Ct|Place|Pl|Circle|Cir)\b`,
    example: '1600 Pennsylvania Avenue',
  },
];

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
  ...PASSPORTS,
  ...Object.entries(PROTECTED_CLASS_TERMS).map(([name, terms]) => termList(name, 'protected class term (US fair lending)', terms)),
  ...Object.entries(DANGEROUS_CONTENT_TERMS).map(([name, terms]) => termList(name, 'dangerous content term', terms)),
  ...NATIONAL_IDS,
];

function card(name: string, description: string, body: string, example: string): PrebuiltPattern {
  return { name, origin: 'litellm-adapted', description, pattern: `(?i)(?<!\\w)${body}(?!\\w)`, accept: acceptLuhn, example };
}

/** The prebuilt patterns by `pattern_name`, in catalogue order. Frozen. */
export const PREBUILT_PATTERNS: ReadonlyMap<string, PrebuiltPattern> = new Map(CATALOGUE.map((p) => [p.name, Object.freeze(p)] as const));
