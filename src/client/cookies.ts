// The client's cookie jar: RFC 6265 matching by tough-cookie, with the size and count limits it leaves out.
import { type Cookie, CookieJar, getPublicSuffix } from 'tough-cookie';

export { CookieJar };

/**
 * The client's cookies: RFC 6265 matching (domain, path, expiry, Secure) by tough-cookie, and the
 * limits of section 6.1, which tough-cookie leaves to its user: a cookie larger than `size` is
 * ignored, and past `perDomain` or `total` the least recently used cookies (set or sent longest
 * ago) are evicted, expired ones first. A jar is shared by every request of a client.
 */
export class Cookies {
  /** When each cookie was last set or sent, as a count of jar uses: no two share a moment. */
  private readonly used = new WeakMap<Cookie, number>();
  private clock = 0;

  /**
   * @param jar - the jar
   * @param limits - what the jar may hold
   * @param empty - true for a jar made here and not yet given a cookie: lookups are skipped
   *   until one is stored (a lookup costs about as much as the rest of a request's setup)
   */
  constructor(
    private readonly jar: CookieJar,
    private readonly limits: CookieLimits,
    private empty = false,
  ) {}

  /** The Cookie header for `url`, or undefined when no cookie applies. */
  header(url: URL): string | undefined {
    if (this.empty) return undefined;
    const cookies = this.jar.getCookiesSync(url.href);
    if (cookies.length === 0) return undefined;
    const now = ++this.clock;
    let header = '';
    for (const cookie of cookies) {
      this.used.set(cookie, now);
      header += header === '' ? cookie.cookieString() : `; ${cookie.cookieString()}`;
    }
    return header;
  }

  /**
   * Stores the Set-Cookie headers of a response to `url`, then evicts what the limits do not
   * allow; a malformed, foreign-domain or oversized cookie is ignored, as browsers do.
   */
  store(url: URL, setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    let stored = false;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      if (line.length > this.limits.size) continue;
      try {
        const cookie = this.jar.setCookieSync(line, url.href);
        if (cookie === undefined) continue;
        this.used.set(cookie, ++this.clock);
        stored = true;
      } catch {
        // an invalid or foreign-domain cookie is not stored
      }
    }
    if (!stored) return;
    this.empty = false;
    this.evict();
  }

  /** Drops expired cookies, then the least recently used ones past the per-domain and total limits. */
  private evict(): void {
    const { store } = this.jar;
    let all: Cookie[] = [];
    // The jar's store is synchronous (the client uses its *Sync methods): the callback runs at once.
    store.getAllCookies((error, cookies) => {
      if (error === null && cookies !== undefined) all = cookies;
    });
    const now = Date.now();
    const remove = (cookie: Cookie): void => {
      store.removeCookie(cookie.domain, cookie.path, cookie.key, () => undefined);
    };
    const live: Cookie[] = [];
    const byDomain = new Map<string, Cookie[]>();
    const registrable = new Map<string, string>(); // a public-suffix lookup per domain, not per cookie
    for (const cookie of all) {
      const expiry = cookie.expiryTime();
      if (expiry !== undefined && expiry <= now) {
        remove(cookie);
        continue;
      }
      live.push(cookie);
      const host = cookie.domain ?? '';
      let domain = registrable.get(host);
      if (domain === undefined) {
        domain = registrableDomain(host);
        registrable.set(host, domain);
      }
      const group = byDomain.get(domain);
      if (group === undefined) byDomain.set(domain, [cookie]);
      else group.push(cookie);
    }
    let count = live.length;
    const evicted = new Set<Cookie>();
    const byAge = (a: Cookie, b: Cookie): number =>
      (this.used.get(a) ?? 0) - (this.used.get(b) ?? 0) || a.creationIndex - b.creationIndex;
    for (const group of byDomain.values()) {
      if (group.length <= this.limits.perDomain) continue;
      for (const cookie of group.sort(byAge).slice(0, group.length - this.limits.perDomain)) {
        evicted.add(cookie);
        remove(cookie);
        count--;
      }
    }
    if (count <= this.limits.total) return;
    const kept = live.filter((cookie) => !evicted.has(cookie)).sort(byAge);
    for (const cookie of kept.slice(0, count - this.limits.total)) remove(cookie);
  }
}

/** How many cookies a jar keeps, and how large one may be (RFC 6265 section 6.1). */
export interface CookieLimits {
  /** Cookies in the whole jar. */
  total: number;
  /** Cookies per registrable domain (`a.example.com` and `b.example.com` count as `example.com`). */
  perDomain: number;
  /** Characters of one `Set-Cookie` value: its name, value and attributes. */
  size: number;
}

/** The domain a cookie counts against: its registrable domain, or the host itself (an IP, `localhost`). */
function registrableDomain(domain: string): string {
  return getPublicSuffix(domain, { allowSpecialUseDomain: true, ignoreError: true }) ?? domain;
}
