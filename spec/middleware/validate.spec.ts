import { expect } from 'chai';
import { expectTypeOf } from 'expect-type';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { promisify } from 'node:util';
import { catchError, firstValueFrom, of } from 'rxjs';
import { request as undiciRequest } from 'undici';
import * as v from 'valibot';
import { z } from 'zod';
import { InvalidOptionError } from '../../src/internal/errors.js';
import { validate, type ValidationIssue } from '../../src/middleware/index.js';
import { router, type Middleware } from '../../src/router/index.js';
import { HttpError, type Handler, type JetRequest } from '../../src/server/index.js';
import { inject, mockRequest, type MockRequestOptions } from '../../src/testing/index.js';
import { closeAll, eventually, fetchText, start, until, within } from '../helpers.js';

const run = promisify(execFile);

const zodUser = z.object({ name: z.string().min(1), age: z.coerce.number().int().optional() });
const valibotUser = v.object({ name: v.pipe(v.string(), v.minLength(1)), tags: v.optional(v.array(v.string())) });

/** Answers errors below it as application/problem+json, as a problemJson() middleware would. */
const problems: Middleware = (req, next) =>
  next().pipe(
    catchError((error: unknown) => {
      const status = error instanceof HttpError ? error.status : 500;
      return of({
        status,
        headers: { 'content-type': 'application/problem+json' },
        body: JSON.stringify({ title: 'problem', status }),
      });
    }),
  );

/** What the handler found in `req.valid`, as JSON. */
const showValid = (req: JetRequest & { valid: unknown }) => ({ status: 201, body: JSON.stringify(req.valid) });

/** A POST with a JSON body over undici. */
async function postJson(url: string, body: string, headers: Record<string, string> = {}) {
  const res = await undiciRequest(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: res.statusCode, headers: res.headers, body: await res.body.text() };
}

/** The same request through inject, for comparing with the served answer. */
async function injected(app: Handler, options: MockRequestOptions) {
  const res = await firstValueFrom(inject(app, mockRequest(options)));
  return { status: res.status, type: res.headers['content-type'], body: res.body };
}

describe('validate', function () {
  this.timeout(20_000);
  afterEach(closeAll);

  describe('bodies', () => {
    for (const [library, schema] of [
      ['zod', zodUser],
      ['valibot', valibotUser],
    ] as const) {
      it(`passes a valid JSON body to the handler as ${library} outputs it, in req.valid.body`, async () => {
        const app = router().post('/users', showValid, { use: [validate({ body: schema })] });
        const server = await start(app);
        const body = library === 'zod' ? '{"name":"ada","age":"36","extra":1}' : '{"name":"ada","tags":["x"]}';
        const res = await postJson(`${server.url}/users`, body);
        const expected = library === 'zod' ? { name: 'ada', age: 36 } : { name: 'ada', tags: ['x'] };
        expect(res.status).to.equal(201);
        expect(JSON.parse(res.body)).to.deep.equal({ body: expected });
        const same = await injected(app, {
          method: 'POST',
          url: '/users',
          headers: { 'content-type': 'application/json' },
          body,
        });
        expect(same).to.deep.include({ status: 201, body: res.body });
      });

      it(`answers a ${library} failure with a 400 JSON list of issues, each with its message and path`, async () => {
        let ran = 0;
        const app = router().post(
          '/users',
          () => {
            ran++;
            return { status: 201 };
          },
          { use: [validate({ body: schema })] },
        );
        const server = await start(app);
        const res = await postJson(`${server.url}/users`, '{"name":""}');
        expect(res.status).to.equal(400);
        expect(res.headers['content-type']).to.equal('application/json');
        const { issues } = JSON.parse(res.body) as { issues: ValidationIssue[] };
        expect(issues).to.have.length(1);
        expect(issues[0]).to.include({ in: 'body' });
        expect(issues[0]!.path).to.deep.equal(['name']);
        expect(issues[0]!.message).to.be.a('string').and.not.equal('');
        expect(ran).to.equal(0);
        const same = await injected(app, {
          method: 'POST',
          url: '/users',
          headers: { 'content-type': 'application/json' },
          body: '{"name":""}',
        });
        expect(same).to.deep.equal({ status: 400, type: 'application/json', body: res.body });
      });
    }

    it('normalises nested paths, array indexes and valibot path segments to keys', async () => {
      const items = { items: [{ name: 'ok' }, { name: 3 }] };
      const zodApp = router().post('/', showValid, {
        use: [validate({ body: z.object({ items: z.array(z.object({ name: z.string() })) }) })],
      });
      const valibotApp = router().post('/', showValid, {
        use: [validate({ body: v.object({ items: v.array(v.object({ name: v.string() })) }) })],
      });
      for (const app of [zodApp, valibotApp]) {
        const server = await start(app);
        const res = await postJson(`${server.url}/`, JSON.stringify(items));
        const { issues } = JSON.parse(res.body) as { issues: ValidationIssue[] };
        expect(issues.map((issue) => issue.path)).to.deep.equal([['items', 1, 'name']]);
      }
    });

    it('reads an urlencoded form body into fields, a repeated field as an array', async () => {
      const app = router().post('/form', showValid, { use: [validate({ body: valibotUser })] });
      const server = await start(app);
      const res = await fetchText(`${server.url}/form`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'name=ada+l&tags=a&tags=b',
      });
      expect(res.status).to.equal(201);
      expect(JSON.parse(res.body)).to.deep.equal({ body: { name: 'ada l', tags: ['a', 'b'] } });
    });

    it('answers another content type, or none, with 415; invalid JSON with the 400 json() gives', async () => {
      const app = router().post('/users', showValid, { use: [validate({ body: zodUser })] });
      const server = await start(app);
      const plain = await fetchText(`${server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: 'name=ada',
      });
      expect([plain.status, plain.body]).to.deep.equal([
        415,
        'Unsupported content type: text/plain; send application/json or application/x-www-form-urlencoded.',
      ]);
      const none = await fetchText(`${server.url}/users`, { method: 'POST', body: '{}' });
      expect(none.status).to.equal(415);
      expect(none.body).to.include('none given');
      const broken = await postJson(`${server.url}/users`, '{"name":');
      expect(broken.status).to.equal(400);
      expect(broken.body).to.match(/^The body is not valid JSON/);
      const poisoned = await postJson(`${server.url}/users`, '{"name":"a","__proto__":{"x":1}}');
      expect([poisoned.status, poisoned.body]).to.deep.equal([400, 'The JSON body has a forbidden key: __proto__.']);
      const viaInject = await injected(app, {
        method: 'POST',
        url: '/users',
        headers: { 'content-type': 'text/plain' },
      });
      expect(viaInject.status).to.equal(415);
      expect(server.errors).to.deep.equal([]);
    });

    it("applies the server's maxBodySize: 413 past it, before the schema runs", async () => {
      const app = router().post('/users', showValid, { use: [validate({ body: zodUser })] });
      const server = await start(app, { maxBodySize: 64 });
      const res = await postJson(`${server.url}/users`, JSON.stringify({ name: 'x'.repeat(100) }));
      expect(res.status).to.equal(413);
      expect((await postJson(`${server.url}/users`, '{"name":"short"}')).status).to.equal(201);
    });

    it('stays a 400 JSON answer under problem+json middleware, which still formats the 415', async () => {
      const app = router()
        .use(problems)
        .post('/users', showValid, { use: [validate({ body: zodUser })] });
      const server = await start(app);
      const failed = await postJson(`${server.url}/users`, '{}');
      expect(failed.status).to.equal(400);
      expect(failed.headers['content-type']).to.equal('application/json');
      expect((JSON.parse(failed.body) as { issues: ValidationIssue[] }).issues[0]).to.deep.include({
        path: ['name'],
        in: 'body',
      });
      const refused = await fetchText(`${server.url}/users`, { method: 'POST', body: 'x' });
      expect([refused.status, refused.headers['content-type']]).to.deep.equal([415, 'application/problem+json']);
    });
  });

  describe('query and params', () => {
    it('gives the query schema a plain object: a repeated key is an array of its values', async () => {
      const query = z.object({
        tag: z.array(z.string()),
        page: z.coerce.number().default(1),
        q: z.string().optional(),
      });
      const app = router().get('/search', showValid, { use: [validate({ query })] });
      const server = await start(app);
      const { stdout } = await run('curl', ['-sS', `${server.url}/search?tag=a&tag=b%20c&page=2`]);
      expect(JSON.parse(stdout)).to.deep.equal({ query: { tag: ['a', 'b c'], page: 2 } });
      const once = await fetchText(`${server.url}/search?tag=a`);
      expect(once.status).to.equal(400);
      expect((JSON.parse(once.body) as { issues: ValidationIssue[] }).issues[0]).to.deep.include({
        path: ['tag'],
        in: 'query',
      });
      const same = await injected(app, { url: '/search?tag=a&tag=b%20c&page=2' });
      expect(same.body).to.equal(stdout);
    });

    it('refuses a __proto__ query key with a 400, as form() does', async () => {
      const app = router().get('/q', showValid, { use: [validate({ query: z.record(z.string(), z.unknown()) })] });
      const server = await start(app);
      const res = await fetchText(`${server.url}/q?__proto__=1`);
      expect([res.status, res.body]).to.deep.equal([400, 'The query has a forbidden key: __proto__.']);
    });

    it("gives the params schema the route's req.params, and lists every part's issues at once", async () => {
      const app = router().post('/orgs/:org/users/:id', showValid, {
        use: [
          validate({
            params: z.object({ org: z.string(), id: z.coerce.number().int() }),
            query: v.object({ notify: v.optional(v.picklist(['yes', 'no'])) }),
            body: zodUser,
          }),
        ],
      });
      const server = await start(app);
      const ok = await postJson(`${server.url}/orgs/acme%20co/users/7?notify=yes`, '{"name":"ada"}');
      expect(JSON.parse(ok.body)).to.deep.equal({
        params: { org: 'acme co', id: 7 },
        query: { notify: 'yes' },
        body: { name: 'ada' },
      });
      const bad = await postJson(`${server.url}/orgs/acme/users/x?notify=maybe`, '{}');
      expect(bad.status).to.equal(400);
      const { issues } = JSON.parse(bad.body) as { issues: ValidationIssue[] };
      expect(issues.map((issue) => [issue.in, issue.path])).to.deep.equal([
        ['params', ['id']],
        ['query', ['notify']],
        ['body', ['name']],
      ]);
    });

    it("adds to the req.valid of a validate above it: a router's use and a route's use together", async () => {
      const app = router()
        .use(validate({ query: z.object({ v: z.literal('2') }) }))
        .post('/things', showValid, { use: [validate({ body: z.object({ n: z.number() }) })] });
      const server = await start(app);
      const res = await postJson(`${server.url}/things?v=2`, '{"n":1}');
      expect(JSON.parse(res.body)).to.deep.equal({ query: { v: '2' }, body: { n: 1 } });
      expect((await postJson(`${server.url}/things?v=1`, '{"n":1}')).status).to.equal(400);
    });

    it("reports params validation in a router's own use, where no route has matched, as a server error", async () => {
      const app = router()
        .use(validate({ params: z.object({}) }))
        .get('/x', () => ({ body: 'x' }));
      const server = await start(app);
      const res = await fetchText(`${server.url}/x`);
      expect(res.status).to.equal(500);
      expect(server.errors).to.have.length(1);
      const error = server.errors[0]!;
      expect(error).to.be.instanceOf(InvalidOptionError);
      expect(error.message).to.include("a schema used in a route's use");
    });
  });

  describe('async schemas and clients going away', () => {
    it('waits for an async schema', async () => {
      const taken = z.object({ name: z.string().refine(async (name) => name !== 'root', 'that name is taken') });
      const app = router().post('/users', showValid, { use: [validate({ body: taken })] });
      const server = await start(app);
      expect((await postJson(`${server.url}/users`, '{"name":"ada"}')).status).to.equal(201);
      const res = await postJson(`${server.url}/users`, '{"name":"root"}');
      expect(res.status).to.equal(400);
      expect(JSON.parse(res.body)).to.deep.equal({
        issues: [{ message: 'that name is taken', path: ['name'], in: 'body' }],
      });
    });

    it('never runs the handler when the client goes away while the schema is still deciding', async () => {
      let decide: (() => void) | undefined;
      let decided = false;
      let handled = 0;
      const slow = z.object({
        name: z.string().refine(() =>
          new Promise<boolean>((resolve) => {
            decide = () => resolve(true);
          }).finally(() => (decided = true)),
        ),
      });
      const app = router().post(
        '/users',
        () => {
          handled++;
          return { status: 201 };
        },
        { use: [validate({ body: slow })] },
      );
      const server = await start(app);
      const req = http.request(`${server.url}/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        agent: false,
      });
      req.on('error', () => undefined);
      req.end('{"name":"ada"}');
      await until(() => decide !== undefined, 'the schema to start');
      const closed = new Promise<void>((resolve) => req.on('close', resolve));
      req.destroy();
      await within(5000, closed, 'the request to close');
      await eventually(
        () => server.stats(),
        (stats) => stats.requests === 0,
        'the server to see the client go',
      );
      decide!();
      await until(() => decided, 'the schema to decide');
      await new Promise((resolve) => setImmediate(resolve));
      expect(handled).to.equal(0);
    });
  });

  describe('options', () => {
    it('refuses what is not a Standard Schema, unknown parts and no schema at all, at call time', () => {
      expect(() => validate({ body: {} as never })).to.throw(InvalidOptionError, /"body".*Standard Schema v1/);
      expect(() => validate({ headers: zodUser } as never)).to.throw(InvalidOptionError, /one of the validate options/);
      expect(() => validate({})).to.throw(InvalidOptionError, /at least one of body, query or params/);
      expect(() => validate(null as never)).to.throw(InvalidOptionError, /"schemas"/);
    });
  });

  describe('types', () => {
    it('types req.valid from the schemas, for the routes below the middleware', () => {
      const schema = z.object({ name: z.string(), age: z.number().optional() });
      const app = router()
        .post('/u', (req) => ({ body: req.valid.body.name }), { use: [validate({ body: schema })] })
        .get('/p/:id', (req) => ({ body: String(req.valid.params.id + 1) + req.params.id }), {
          use: [validate({ params: z.object({ id: z.coerce.number() }) })],
        })
        .get('/q', (req) => ({ body: req.valid.query.tags.join() }), {
          use: [validate({ query: v.object({ tags: v.array(v.string()) }) })],
        });
      expectTypeOf(app).toExtend<Handler>();
      expectTypeOf(validate({ body: schema })).toExtend<
        Middleware<{ readonly valid: { readonly body: { name: string; age?: number | undefined } } }>
      >();
      const both = validate({ body: schema, query: z.object({ q: z.string() }) });
      expectTypeOf(both).toExtend<Middleware>();
      type Valid = typeof both extends Middleware<{ readonly valid: infer V }> ? V : never;
      expectTypeOf<Valid>().toEqualTypeOf<{
        readonly body: { name: string; age?: number | undefined };
        readonly query: { q: string };
      }>();
      router().post(
        '/u',
        // @ts-expect-error: only the parts given a schema are in req.valid
        (req) => ({ body: req.valid.query }), // eslint-disable-line @typescript-eslint/no-unsafe-assignment -- fails to compile on purpose
        { use: [validate({ body: schema })] },
      );
      router().post(
        '/u',
        // @ts-expect-error: the output is typed: name is a string, not a number
        (req) => ({ body: req.valid.body.name.toFixed() }), // eslint-disable-line @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call -- fails to compile on purpose
        { use: [validate({ body: schema })] },
      );
    });
  });
});
