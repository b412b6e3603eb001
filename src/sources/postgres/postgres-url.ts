/**
 * LiteLLM's DATABASE_URL as this reader uses it: the form a log or an error may show (password
 * redacted), the password to scrub from any message, and the schema Prisma's `?schema=` names.
 */

/** What the reader needs from a connection URL. */
export interface PostgresTarget {
  /** The URL as given, for the driver only: never logged. */
  readonly url: string;
  /** The URL with its password replaced by `***` (userinfo and `password=` parameters): safe to log. */
  readonly redacted: string;
  /** The schema of LiteLLM's tables: Prisma's `?schema=` parameter, else the connection's search_path (`public`). */
  readonly schema: string | undefined;
  /** Removes the password (as given and percent-decoded) from a message. */
  scrub(message: string): string;
}

/**
 * Parses a `postgres://` or `postgresql://` URL (anything node-postgres accepts, e.g.
 * `postgresql://user:pass@host:5432/litellm?sslmode=require`, or
 * `postgresql://user:pass@/litellm?host=/var/run/postgresql` for a Unix socket). Throws an Error
 * whose message never holds the password when it is not such a URL.
 */
export function parsePostgresUrl(url: string): PostgresTarget {
  const m = /^(postgres(?:ql)?:\/\/)(.*)$/is.exec(url);
  if (!m) throw new Error(`'${redactLoose(url)}' is not a postgres:// or postgresql:// URL`);
  const [, scheme, rest] = m as unknown as [string, string, string];
  const query = rest.includes('?') ? rest.slice(rest.indexOf('?') + 1) : '';
  const beforeQuery = rest.includes('?') ? rest.slice(0, rest.indexOf('?')) : rest;
  const at = beforeQuery.lastIndexOf('@');
  const userinfo = at >= 0 ? beforeQuery.slice(0, at) : '';
  const colon = userinfo.indexOf(':');
  const secrets = new Set<string>();
  let redactedRest = rest;
  if (colon >= 0) {
    const password = userinfo.slice(colon + 1);
    secrets.add(password);
    redactedRest = `${userinfo.slice(0, colon)}:***${rest.slice(at)}`;
  }
  const params = new URLSearchParams(query);
  for (const p of params.getAll('password')) secrets.add(p);
  redactedRest = redactedRest.replace(/([?&]password=)[^&#]*/gi, '$1***');
  for (const s of [...secrets]) {
    try {
      secrets.add(decodeURIComponent(s));
    } catch {
      // Not percent-encoded: the raw form is scrubbed.
    }
  }
  // A very short password would scrub ordinary words out of messages; such a password is no secret anyway.
  const scrubbed = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  const schema = params.get('schema') ?? undefined;
  return {
    url,
    redacted: `${scheme}${redactedRest}`,
    schema: schema === '' ? undefined : schema,
    scrub: (message) => scrubbed.reduce((text, s) => text.split(s).join('***'), message),
  };
}

/** A redaction for text that may not even parse: everything between `://` and the last `@` but the user. */
function redactLoose(text: string): string {
  return text.replace(/(:\/\/[^:@/]*:)[^@]*@/, '$1***@').replace(/([?&]password=)[^&#]*/gi, '$1***');
}
