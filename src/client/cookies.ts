import { CookieJar } from 'tough-cookie';

export { CookieJar };

/**
 * The client's cookies: RFC 6265 matching (domain, path, expiry, Secure) by tough-cookie. A jar
 * is shared by every request of a client.
 */
export class Cookies {
  /**
   * @param jar - the jar
   * @param empty - true for a jar made here and not yet given a cookie: lookups are skipped
   *   until one is stored (a lookup costs about as much as the rest of a request's setup)
   */
  constructor(
    private readonly jar: CookieJar,
    private empty = false,
  ) {}

  /** The Cookie header for `url`, or undefined when no cookie applies. */
  header(url: URL): string | undefined {
    if (this.empty) return undefined;
    const value = this.jar.getCookieStringSync(url.href);
    return value === '' ? undefined : value;
  }

  /** Stores the Set-Cookie headers of a response to `url`; a malformed one is ignored, as browsers do. */
  store(url: URL, setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    this.empty = false;
    for (const cookie of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      try {
        this.jar.setCookieSync(cookie, url.href);
      } catch {
        // an invalid or foreign-domain cookie is not stored
      }
    }
  }
}
