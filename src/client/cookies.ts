import { CookieJar } from 'tough-cookie';

export { CookieJar };

/**
 * The client's cookies: RFC 6265 matching (domain, path, expiry, Secure) by tough-cookie. A jar
 * is shared by every request of a client.
 */
export class Cookies {
  constructor(private readonly jar: CookieJar) {}

  /** The Cookie header for `url`, or undefined when no cookie applies. */
  header(url: URL): string | undefined {
    const value = this.jar.getCookieStringSync(url.href);
    return value === '' ? undefined : value;
  }

  /** Stores the Set-Cookie headers of a response to `url`; a malformed one is ignored, as browsers do. */
  store(url: URL, setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    for (const cookie of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      try {
        this.jar.setCookieSync(cookie, url.href);
      } catch {
        // an invalid or foreign-domain cookie is not stored
      }
    }
  }
}
